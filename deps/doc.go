// Package deps turns observed connections (NSX-T flow exports, NetFlow/IPFIX
// CSV dumps from nfdump, ss captures, ferry's canonical CSV) and declared
// dependencies into an app-level dependency graph: move groups, waves,
// blast radius and the inbound ports of every VM. Exporters write one
// record per direction; records that carry both ports are paired with
// their reply and oriented client -> server from the evidence flow
// analysers use (direction.go), and conversations nothing decides are
// reported, not guessed. Parsing streams and aggregates per conversation,
// so a million flow records fit in well under the memory of the records
// themselves.
package deps
