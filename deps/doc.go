// Package deps turns observed connections (NSX-T flow exports, NetFlow/IPFIX
// CSV dumps from nfdump, ss -tn captures, ferry's canonical CSV) and
// declared dependencies into an app-level dependency graph: move groups,
// waves, blast radius and the inbound ports of every VM. Parsing streams and
// aggregates per (source, destination, port, protocol), so a million flow
// records fit in well under the memory of the records themselves.
package deps
