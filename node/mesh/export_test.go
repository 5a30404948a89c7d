package mesh

import "github.com/convene/convene/crdt"

// Hooks for the external tests (package mesh_test).

// DropGossip makes m drop every gossip message it receives, after
// validation and before storing, as an overflowing subscriber would.
func DropGossip(m *Mesh, drop bool) { m.dropGossip.Store(drop) }

// TopicPeers is how many peers m sees on gathering g's topic.
func TopicPeers(m *Mesh, g crdt.GatheringID) int { return len(m.ps.ListPeers(g.Topic())) }

// EncodeBatch encodes operations as one gossip message.
func EncodeBatch(raws [][]byte) []byte {
	c, err := newCodec()
	if err != nil {
		panic(err)
	}
	defer c.close()
	return c.encode(raws)
}

// Dropped counts the gossip messages DropGossip dropped.
func Dropped(m *Mesh) int64 { return m.dropped.Load() }
