package xcap

// usage is an XCAP application usage (RFC 4825 §5): its AUID, the media
// type and default namespace of its documents, how a document is rendered
// from the account's view and, for the writable ones, how a new document
// becomes hub changes.
type usage struct {
	auid        string
	contentType string
	ns          string
	// global: the document lives in the global tree, not under users/.
	global bool
	render func(v *view) *node
	// plan validates a new document and returns the changes it asks for;
	// nil for a read-only usage.
	plan func(v *view, doc *node) ([]change, error)
}

// usages returns the application usages served, by AUID.
func usages() map[string]*usage {
	return map[string]*usage{
		"resource-lists": {auid: "resource-lists", contentType: "application/resource-lists+xml", ns: nsResourceLists,
			render: renderResourceLists, plan: planResourceLists},
		"rls-services": {auid: "rls-services", contentType: "application/rls-services+xml", ns: nsRLS,
			render: renderRLSServices},
		// RFC 5025 (its XCAP usage): the default namespace of selectors is
		// pres-rules, not common-policy, so ruleset and rule need a prefix.
		"pres-rules": {auid: "pres-rules", contentType: "application/auth-policy+xml", ns: nsPresRules,
			render: renderPresRules, plan: planPresRules},
		"xcap-caps": {auid: "xcap-caps", contentType: "application/xcap-caps+xml", ns: nsXCAPCaps,
			global: true, render: renderCaps},
	}
}

// renderRLSServices renders one RLS service (RFC 4826 §4): the account's
// buddy-list URI, a reference to the roster list of its resource-lists
// document, for the presence event package.
func renderRLSServices(v *view) *node {
	return el(nsRLS, "rls-services").add(
		el(nsRLS, "service", "uri", v.serviceURI).add(
			el(nsRLS, "resource-list").withText(v.listURI),
			el(nsRLS, "packages").add(el(nsRLS, "package").withText("presence")),
		),
	)
}

// renderCaps renders the server's capabilities (RFC 4825 §12).
func renderCaps(*view) *node {
	auids := el(nsXCAPCaps, "auids")
	for _, a := range []string{"xcap-caps", "resource-lists", "rls-services", "pres-rules"} {
		auids.add(el(nsXCAPCaps, "auid").withText(a))
	}
	nss := el(nsXCAPCaps, "namespaces")
	for _, n := range []string{nsXCAPCaps, nsXCAPError, nsResourceLists, nsRLS, nsCommonPolicy, nsPresRules} {
		nss.add(el(nsXCAPCaps, "namespace").withText(n))
	}
	return el(nsXCAPCaps, "xcap-caps").add(auids, el(nsXCAPCaps, "extensions"), nss)
}
