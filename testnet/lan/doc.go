// Package lan is a LAN testnet: real `convene run` processes in Linux
// network namespaces joined by a bridge, to test what a venue's network
// does to the mesh — mDNS discovery with no configured peers, partitions
// made by taking links down, client isolation that leaves a hub as the only
// way between laptops, and lossy links.
//
// The tests need root (or CAP_NET_ADMIN and CAP_SYS_ADMIN) and the ip
// command; they skip with a message otherwise. They make their own
// namespaces, named after the test process, and send traffic only inside
// them; the root namespace is not touched. Run them with `make testnet-lan`.
package lan
