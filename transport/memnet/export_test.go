package memnet

// SetFanout turns a network's multicast fan-out on (the default) or off;
// off, every multicast is sent as one event per receiver, the way a
// multicast whose receivers' latencies differ is. The tests compare the
// two.
func SetFanout(n *Network, on bool) { n.noFanout = !on }

// QueueLen returns the number of events in a network's queue, a fanout
// counting once.
func QueueLen(n *Network) int { return n.events.len() }
