package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
)

// errNotLoopback is returned for any target or source address outside the
// loopback network: this tool never sends load anywhere else.
var errNotLoopback = errors.New("not a loopback address (ctload only loads 127.0.0.0/8 and ::1)")

// loopbackAddr parses a host:port whose host is a literal loopback IP or the
// name "localhost" (taken to be 127.0.0.1, never resolved), and returns it as
// an address. Anything else is refused with errNotLoopback, so no name
// resolution can redirect the load elsewhere.
func loopbackAddr(hostport string) (netip.AddrPort, error) {
	host, portStr, err := net.SplitHostPort(hostport)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q: %w", hostport, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil || port == 0 {
		return netip.AddrPort{}, fmt.Errorf("address %q: bad port %q", hostport, portStr)
	}
	ip, err := loopbackIP(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q: %w", hostport, err)
	}
	return netip.AddrPortFrom(ip, uint16(port)), nil
}

// loopbackIP parses a literal loopback IP or "localhost".
func loopbackIP(host string) (netip.Addr, error) {
	if strings.EqualFold(host, "localhost") {
		return netip.AddrFrom4([4]byte{127, 0, 0, 1}), nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not a literal IP or localhost: %w", host, errNotLoopback)
	}
	ip = ip.Unmap()
	if !ip.IsLoopback() || ip.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%s: %w", ip, errNotLoopback)
	}
	return ip, nil
}

// loopbackOnly is a net.Dialer Control function: it refuses, at connect
// time, any remote address that is not loopback. It backs up loopbackAddr
// for connections a library opens on our behalf.
func loopbackOnly(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s %s: %w", network, address, err)
	}
	if !ap.Addr().Unmap().IsLoopback() {
		return fmt.Errorf("dial %s %s: %w", network, address, errNotLoopback)
	}
	return nil
}

// parseSources parses the source address list: "" (let the kernel choose),
// a comma-separated list of loopback IPs, or ranges "127.0.0.2-127.0.0.50"
// (IPv4, last octets, at most 65536 addresses in all).
func parseSources(s string) ([]netip.Addr, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []netip.Addr
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := loopbackIP(lo)
		if err != nil {
			return nil, fmt.Errorf("source %q: %w", part, err)
		}
		if !isRange {
			out = append(out, first)
			continue
		}
		last, err := loopbackIP(hi)
		if err != nil {
			return nil, fmt.Errorf("source %q: %w", part, err)
		}
		if !first.Is4() || !last.Is4() || last.Less(first) {
			return nil, fmt.Errorf("source range %q: want two IPv4 loopback addresses, low-high", part)
		}
		for ip := first; ; ip = ip.Next() {
			if len(out) >= 1<<16 {
				return nil, fmt.Errorf("source %q: more than 65536 addresses", s)
			}
			out = append(out, ip)
			if ip == last {
				break
			}
		}
	}
	return out, nil
}
