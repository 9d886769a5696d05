package crosstalk

import (
	"context"
	"time"
)

// Store is everything the server keeps. store/sqlite and store/postgres
// implement it; store/storetest is the contract both pass.
type Store interface {
	Accounts
	Rosters
	Blocklists
	Offline
	Archive
	Rooms
	Registrations
	PEP
	VCards
	LastActivities
	LoginTokens
	// InTransaction runs fn with a Store whose every call is part of one
	// transaction, committed when fn returns nil and rolled back otherwise.
	InTransaction(ctx context.Context, fn func(tx Store) error) error
	// Ping reports whether the store can serve.
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}

// Accounts keeps accounts and their credentials. Addresses are bare and
// already normalised; stores compare them byte for byte.
type Accounts interface {
	// CreateAccount stores a new account; ErrAccountExists if it exists.
	CreateAccount(ctx context.Context, a Account) error
	// GetAccount returns an account; ErrNoSuchAccount if there is none.
	GetAccount(ctx context.Context, addr Address) (Account, error)
	// SetCredentials replaces an account's credentials; ErrNoSuchAccount if
	// there is none.
	SetCredentials(ctx context.Context, addr Address, c Credentials) error
	// DeleteAccount removes an account and everything it owns (roster,
	// blocklist, offline messages, archive, registrations, PEP, vCard,
	// last activity, login tokens);
	// ErrNoSuchAccount if there is none.
	DeleteAccount(ctx context.Context, addr Address) error
	// ListAccounts returns the accounts of a domain ("" for all), sorted.
	ListAccounts(ctx context.Context, domain string) ([]Address, error)
}

// Rosters keeps each account's contacts, versioned per owner (XEP-0237).
// Every change raises the owner's version by at least one.
type Rosters interface {
	// GetRoster returns the owner's items sorted by contact and the current
	// version (0 for an empty, never-changed roster).
	GetRoster(ctx context.Context, owner Address) (Roster, error)
	// GetRosterItem returns one item; ErrNotFound if there is none.
	GetRosterItem(ctx context.Context, owner, contact Address) (RosterItem, error)
	// PutRosterItem creates or replaces an item and returns the new version,
	// which is also stored as the item's Version.
	PutRosterItem(ctx context.Context, owner Address, item RosterItem) (int64, error)
	// DeleteRosterItem removes an item and returns the new version;
	// ErrNotFound if there was none.
	DeleteRosterItem(ctx context.Context, owner, contact Address) (int64, error)
}

// Blocklists keeps the addresses each account blocks (XEP-0191).
type Blocklists interface {
	// Block adds addresses to the owner's blocklist; blocking twice is no error.
	Block(ctx context.Context, owner Address, addrs ...Address) error
	// Unblock removes addresses; with none, it empties the list.
	Unblock(ctx context.Context, owner Address, addrs ...Address) error
	// Blocklist returns the owner's blocked addresses, sorted.
	Blocklist(ctx context.Context, owner Address) ([]Address, error)
	// IsBlocked reports whether the owner blocks addr: the full address, its
	// bare address or its domain (XEP-0191 §3.5 matching).
	IsBlocked(ctx context.Context, owner, addr Address) (bool, error)
}

// OfflineMessage is a message waiting for its recipient, with its place in
// the recipient's queue.
type OfflineMessage struct {
	Seq     int64
	Message Message
}

// Offline keeps messages for accounts with no endpoint, in order, durably,
// and hands each out exactly once.
type Offline interface {
	// PushOffline appends a message to the owner's queue; when it returns
	// nil the message is durable.
	PushOffline(ctx context.Context, owner Address, m Message) error
	// ClaimOffline removes and returns the owner's queued messages in the
	// order they were pushed, at most limit of them (≤ 0: all). Concurrent
	// claims receive disjoint sets.
	ClaimOffline(ctx context.Context, owner Address, limit int) ([]OfflineMessage, error)
	// CountOffline returns the number of queued messages.
	CountOffline(ctx context.Context, owner Address) (int, error)
}

// ArchivedMessage is a message in an account's archive (XEP-0313).
type ArchivedMessage struct {
	// ID is the archive's stable id for the message (FormatArchiveID): the
	// one given when appending, or else assigned by the store. The hub
	// gives ids itself (NewArchiveIDs), so that a room can stamp a live
	// message with its archive id before the archive is written.
	ID string
	// With is the other party's bare address.
	With    Address
	Message Message
}

// ArchiveQuery selects a page of an archive. Zero fields do not filter.
type ArchiveQuery struct {
	With  Address
	Start time.Time
	End   time.Time
	// After and Before are archive ids (RSM); the page starts after After or
	// ends before Before.
	After  string
	Before string
	// Last asks for the last page (RSM's empty <before/>): paging backwards
	// from the end, or from Before when it is set.
	Last bool
	// Max is the page size; ≤ 0 means 50.
	Max int
}

// ArchivePage is one page of archive results, oldest first.
type ArchivePage struct {
	Messages []ArchivedMessage
	// Complete is true when the page reaches the end of the results in the
	// paging direction.
	Complete bool
}

// ArchiveEntry is one message for one owner's archive, in a batch.
type ArchiveEntry struct {
	Owner Address
	ArchivedMessage
}

// Archive keeps each account's message history (XEP-0313).
type Archive interface {
	// AppendArchive stores a message in the owner's archive and returns its
	// id: m.ID when set (an id from FormatArchiveID, unique in the store),
	// else a new one. Ids the store assigns sort in archive order.
	AppendArchive(ctx context.Context, owner Address, m ArchivedMessage) (string, error)
	// AppendArchiveBatch stores entries in their owners' archives in order,
	// all or none, each under its ID when set (all of a batch have one, or
	// none); ids the store assigns sort in the order given. It is how the hub
	// writes the archive (one round trip and one commit per batch).
	AppendArchiveBatch(ctx context.Context, entries []ArchiveEntry) error
	// QueryArchive returns a page of the owner's archive ordered by time then id.
	QueryArchive(ctx context.Context, owner Address, q ArchiveQuery) (ArchivePage, error)
	// ArchiveBounds returns the id and time of the first and the last
	// message of the owner's archive in QueryArchive's order (time, then
	// id), read together, without the messages themselves; ok is false for
	// an empty archive. It is what XEP-0313's archive metadata reports.
	ArchiveBounds(ctx context.Context, owner Address) (first, last ArchiveRef, ok bool, err error)
}

// ArchiveRef names one archived message without its content: what the
// archive's metadata reports of its first and last messages.
type ArchiveRef struct {
	// ID is the message's archive id (ArchivedMessage.ID).
	ID string
	// Time is the message's time (Message.Time) as QueryArchive returns it.
	Time time.Time
}

// Rooms keeps persistent rooms and their configuration.
type Rooms interface {
	// PutRoom creates or replaces a room.
	PutRoom(ctx context.Context, r Room) error
	// GetRoom returns a room; ErrNotFound if there is none.
	GetRoom(ctx context.Context, addr Address) (Room, error)
	// DeleteRoom removes a room; ErrNotFound if there was none.
	DeleteRoom(ctx context.Context, addr Address) error
	// ListRooms returns the rooms of a service domain, sorted by address.
	ListRooms(ctx context.Context, domain string) ([]Room, error)
}

// Registrations keeps SIP registration bindings so that a restart keeps them.
type Registrations interface {
	// PutRegistration creates or replaces the binding with the same AOR and Key.
	PutRegistration(ctx context.Context, r Registration) error
	// DeleteRegistration removes one binding by AOR and Key; ErrNotFound if
	// there was none.
	DeleteRegistration(ctx context.Context, aor Address, key string) error
	// ListRegistrations returns an AOR's bindings that have not expired at
	// now, highest q first, then by key.
	ListRegistrations(ctx context.Context, aor Address, now time.Time) ([]Registration, error)
	// DeleteExpiredRegistrations removes bindings expired at now and returns
	// how many.
	DeleteExpiredRegistrations(ctx context.Context, now time.Time) (int, error)
}

// PEPNode is one personal eventing node of an account (XEP-0163): its name,
// access model and how many items it keeps. The core does not interpret
// the access model; the XMPP frontend uses "presence" and "open".
type PEPNode struct {
	Owner    Address
	Node     string
	Access   string
	MaxItems int
}

// PEPItem is one published item: its id, its payload (opaque bytes, the
// serialised child of <item/>) and when it was published.
type PEPItem struct {
	ID        string
	Payload   []byte
	Published time.Time
}

// PEP keeps each account's personal eventing nodes and their items.
type PEP interface {
	// PutPEPNode creates a node or replaces its configuration, removing the
	// oldest items beyond the new MaxItems (≤ 0 counts as 1).
	PutPEPNode(ctx context.Context, n PEPNode) error
	// GetPEPNode returns a node; ErrNotFound if there is none.
	GetPEPNode(ctx context.Context, owner Address, node string) (PEPNode, error)
	// ListPEPNodes returns the owner's nodes sorted by name.
	ListPEPNodes(ctx context.Context, owner Address) ([]PEPNode, error)
	// DeletePEPNode removes a node and its items; ErrNotFound if there was none.
	DeletePEPNode(ctx context.Context, owner Address, node string) error
	// PublishPEPItem stores an item in an existing node as its newest,
	// replacing an item with the same id, and removes the oldest items
	// beyond the node's MaxItems; ErrNotFound if there is no node.
	PublishPEPItem(ctx context.Context, owner Address, node string, it PEPItem) error
	// PEPItems returns a node's items, newest first: only those with the
	// given ids when ids is not empty, and at most max of them (≤ 0: all);
	// ErrNotFound if there is no node.
	PEPItems(ctx context.Context, owner Address, node string, ids []string, max int) ([]PEPItem, error)
	// RetractPEPItem removes one item; ErrNotFound if there was none.
	RetractPEPItem(ctx context.Context, owner Address, node, id string) error
}

// VCards keeps each account's vCard (XEP-0054) as opaque bytes.
type VCards interface {
	// PutVCard creates or replaces the owner's vCard.
	PutVCard(ctx context.Context, owner Address, vcard []byte) error
	// GetVCard returns the owner's vCard; ErrNotFound if there is none.
	GetVCard(ctx context.Context, owner Address) ([]byte, error)
}

// LastActivity is when an account's last session ended and the status
// text of its last unavailable presence (XEP-0012).
type LastActivity struct {
	At     time.Time
	Status string
}

// LastActivities keeps the last activity of each account.
type LastActivities interface {
	// PutLastActivity creates or replaces the owner's last activity.
	PutLastActivity(ctx context.Context, owner Address, la LastActivity) error
	// GetLastActivity returns the owner's last activity; ErrNotFound if
	// none was ever recorded.
	GetLastActivity(ctx context.Context, owner Address) (LastActivity, error)
}

// LoginToken is the record of a token that lets one client of an account
// log in again without its password (XEP-0484 FAST for XMPP). It holds no
// secret: the token the client has is derived from ID and the other
// fields with a key the frontend keeps outside the store, so that what is
// stored cannot be used to log in.
type LoginToken struct {
	// ID is the token's random id, unique in the store (at most 64 bytes).
	ID []byte
	// Owner is the account's bare address; Client names its client (an
	// installation's user-agent id).
	Owner  Address
	Client string
	// Mechanism is what the token is for (an HT mechanism name).
	Mechanism string
	// Used says the token has been used to log in: each client has at most
	// one unused token (the one issued last) and one used token.
	Used bool
	// Issued is when it was issued; it expires at Expiry.
	Issued, Expiry time.Time
	// Credentials fingerprints the account's credentials when it was
	// issued, so that a password change invalidates it.
	Credentials []byte
}

// LoginTokens keeps login tokens, at most two per client (one unused, one
// used) and a bounded number of clients per account.
type LoginTokens interface {
	// PutLoginToken stores t as its client's unused token, replacing the
	// unused one before it; removes the owner's tokens expired at t.Issued;
	// then keeps the tokens of the owner's maxClients clients whose newest
	// token is the most recent, dropping the others (maxClients ≤ 0 counts
	// as 1).
	PutLoginToken(ctx context.Context, t LoginToken, maxClients int) error
	// ClientLoginTokens returns a client's tokens (at most two), the unused
	// one first. It is one indexed read.
	ClientLoginTokens(ctx context.Context, owner Address, client string) ([]LoginToken, error)
	// UseLoginToken marks a token used and removes its client's token used
	// before it; ErrNotFound if the token is not there.
	UseLoginToken(ctx context.Context, owner Address, client string, id []byte) error
	// DeleteLoginToken removes one token; ErrNotFound if there was none.
	DeleteLoginToken(ctx context.Context, owner Address, client string, id []byte) error
	// DeleteExpiredLoginTokens removes at most limit tokens (≤ 0: all)
	// expired at now, soonest expired first, and returns how many.
	DeleteExpiredLoginTokens(ctx context.Context, now time.Time, limit int) (int, error)
}
