package mesh

import "github.com/convene/convene/crdt"

// Hooks for the external tests (package mesh_test).

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
