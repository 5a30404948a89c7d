package crdt

import "testing"

// TestIDMap: ids that share their first 8 bytes (as crafted ids may) are
// told apart, and every value is listed once.
func TestIDMap(t *testing.T) {
	m := newIDMap[proposal]()
	var ids [4]OpID
	for i := range ids {
		copy(ids[i][:8], "samepfx!")
		ids[i][31] = byte(i)
	}
	ids[3] = OpID{9}
	for _, id := range ids[:3] {
		if m.get(id) != nil {
			t.Fatalf("%s found before it was put", id)
		}
		m.put(&proposal{id: id})
	}
	for i, id := range ids {
		p := m.get(id)
		if (p != nil) != (i < 3) || p != nil && p.id != id {
			t.Errorf("get(id %d) = %v", i, p)
		}
	}
	seen := make(map[OpID]int)
	m.each(func(p *proposal) { seen[p.id]++ })
	if m.len() != 3 || len(seen) != 3 || seen[ids[0]] != 1 || seen[ids[1]] != 1 || seen[ids[2]] != 1 {
		t.Errorf("len %d, each saw %v", m.len(), seen)
	}
}
