package crdt

// Per-identity limits. They keep one identity (or a hand-built client) from
// minting groups to out-vote the room or from flooding every browser with
// a session document of megabytes. State.Check refuses a local operation
// over a limit with ErrLimit; an operation from a peer over a limit is kept
// in the set but ignored by the fold: of the operations a limit counts, the
// earliest by (clock, id) count and the rest do not.
//
// Ordering by clock is safe here although clocks can be backdated: each
// limit counts only one identity's (or one group's) own operations, so a
// backdated clock can only choose which of its author's own operations are
// the excess, never push out anyone else's. (The session-wide waiting list
// is the exception, and it is bounded per group first.)
const (
	// MaxGroupsPerIdentity: groups one identity may create.
	MaxGroupsPerIdentity = 3
	// MaxWaitingPerGroup: proposals of one group in a session's waiting
	// list; further ones are not shown at all.
	MaxWaitingPerGroup = 3
	// MaxWaiting: the length of one session's waiting list.
	MaxWaiting = 30
	// MaxCommentsPerIdentity: comments one identity may make on one
	// proposal.
	MaxCommentsPerIdentity = 20
)
