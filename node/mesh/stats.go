package mesh

import "sync/atomic"

// Stats counts the mesh's reconciliation traffic since it started.
type Stats struct {
	Sessions      int64 // completed sessions, either side
	ReconSent     int64 // 'R' messages
	ReconReceived int64
	BytesSent     int64 // all frames, including operations
	BytesReceived int64
	// Of BytesSent, by frame: 'R' messages, 'Q' requests, 'P' batches.
	ReconMsgBytes, RequestBytes, PushBytes int64
	OpsRequested                           int64 // operations asked of peers
	OpsSent                                int64 // operations sent in answer to requests
	OpsReceived                            int64 // operations received and newly stored
	Rejected                               int64 // operations refused: forged, malformed, foreign, or signed but unreadable here (once while remembered); a batch not asked for counts as one
	Outside                                int64 // items peers requested that their session had not told them of (each ended its session)
	Stalled                                int64 // sessions ended for making no progress
	Capped                                 int64 // sessions whose difference passed the items a session holds (recon.DefaultMaxItems)
	GraftSyncs                             int64 // reconciliations this side started because a peer was grafted into a gathering's mesh, counted when each ended
	GraftsQuiet                            int64 // grafts not reconciled: the peer's last graft reconciliation was running or had ended less than graftQuiet before
	JoinsQuiet                             int64 // topic joins not reconciled: the reconciliation of the peer's last join was running or had ended less than graftQuiet before
	GateTimeouts                           int64 // sessions that waited out the learning gate's whole bound (gateWait) while a session that blocks held it
}

type stats struct {
	sessions, reconSent, reconReceived, bytesSent, bytesReceived,
	reconMsgBytes, requestBytes, pushBytes,
	opsRequested, opsSent, opsReceived, rejected, outside, stalled, capped, graftSyncs, graftsQuiet, joinsQuiet, gateTimeouts atomic.Int64
}

// Plus is the sum of two sets of counters (a network's, from its meshes').
func (s Stats) Plus(t Stats) Stats {
	return Stats{
		Sessions: s.Sessions + t.Sessions, ReconSent: s.ReconSent + t.ReconSent, ReconReceived: s.ReconReceived + t.ReconReceived,
		BytesSent: s.BytesSent + t.BytesSent, BytesReceived: s.BytesReceived + t.BytesReceived,
		ReconMsgBytes: s.ReconMsgBytes + t.ReconMsgBytes, RequestBytes: s.RequestBytes + t.RequestBytes, PushBytes: s.PushBytes + t.PushBytes,
		OpsRequested: s.OpsRequested + t.OpsRequested, OpsSent: s.OpsSent + t.OpsSent, OpsReceived: s.OpsReceived + t.OpsReceived,
		Rejected: s.Rejected + t.Rejected, Outside: s.Outside + t.Outside, Stalled: s.Stalled + t.Stalled, Capped: s.Capped + t.Capped,
		GraftSyncs: s.GraftSyncs + t.GraftSyncs, GraftsQuiet: s.GraftsQuiet + t.GraftsQuiet, JoinsQuiet: s.JoinsQuiet + t.JoinsQuiet, GateTimeouts: s.GateTimeouts + t.GateTimeouts,
	}
}

// Stats reports reconciliation counters.
func (m *Mesh) Stats() Stats {
	s := &m.stats
	return Stats{
		Sessions: s.sessions.Load(), ReconSent: s.reconSent.Load(), ReconReceived: s.reconReceived.Load(),
		BytesSent: s.bytesSent.Load(), BytesReceived: s.bytesReceived.Load(),
		ReconMsgBytes: s.reconMsgBytes.Load(), RequestBytes: s.requestBytes.Load(), PushBytes: s.pushBytes.Load(),
		OpsRequested: s.opsRequested.Load(), OpsSent: s.opsSent.Load(), OpsReceived: s.opsReceived.Load(), Rejected: s.rejected.Load(),
		Outside: s.outside.Load(), Stalled: s.stalled.Load(), Capped: s.capped.Load(), GraftSyncs: s.graftSyncs.Load(),
		GraftsQuiet: s.graftsQuiet.Load(), JoinsQuiet: s.joinsQuiet.Load(), GateTimeouts: s.gateTimeouts.Load(),
	}
}
