package deps

import (
	"fmt"
	"net/netip"
	"strconv"
	"time"
)

// Flow is one connection record, or the aggregate of several records with
// the same source, destination, destination port and protocol. In an
// aggregate (Aggregator.Flows) the source is the client and the destination
// the server; a record as parsed (ParseFlows) is as the file wrote it.
type Flow struct {
	SrcIP     string    `json:"srcIP"`
	DstIP     string    `json:"dstIP"`
	SrcPort   int       `json:"srcPort,omitempty"` // records only; 0 when the file has none
	DstPort   int       `json:"dstPort"`
	Protocol  string    `json:"protocol"` // tcp, udp, icmp, sctp, or the IP protocol number
	Bytes     int64     `json:"bytes"`
	Packets   int64     `json:"packets"`
	Count     int64     `json:"count"` // sessions (records) this flow stands for
	FirstSeen time.Time `json:"firstSeen,omitzero"`
	LastSeen  time.Time `json:"lastSeen,omitzero"`
	SrcName   string    `json:"srcName,omitempty"` // name the file gives the source, if any
	DstName   string    `json:"dstName,omitempty"`
}

// ParseError is one malformed line of a flow file.
type ParseError struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

func (e ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason) }

// ParseOptions tune parsing.
type ParseOptions struct {
	// MaxErrors is how many malformed lines are tolerated (reported and
	// skipped) before parsing stops with an error. 0 tolerates none.
	MaxErrors int
}

// TooManyErrorsError ends a parse that met more than MaxErrors malformed
// lines; Errors holds the ones seen, Last the one that broke the limit.
type TooManyErrorsError struct {
	File   string
	Max    int
	Errors []ParseError
}

func (e *TooManyErrorsError) Error() string {
	last := e.Errors[len(e.Errors)-1]
	return fmt.Sprintf("%s: more than %d malformed lines (last %s); fix the file or raise --max-errors", e.File, e.Max, last.Error())
}

// protocol numbers by name and back; the set covers what flow exports say.
var protoByName = map[string]uint8{
	"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ah": 51, "icmpv6": 58, "ipv6-icmp": 58, "sctp": 132,
}

func protoName(p uint8) string {
	switch p {
	case 1:
		return "icmp"
	case 2:
		return "igmp"
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 47:
		return "gre"
	case 50:
		return "esp"
	case 51:
		return "ah"
	case 58:
		return "icmpv6"
	case 132:
		return "sctp"
	}
	return strconv.Itoa(int(p))
}

// ParseProtocol returns the IP protocol number of a name (tcp, UDP, ...) or
// a decimal number.
func ParseProtocol(s string) (uint8, bool) {
	return parseProto([]byte(s))
}

func parseProto(b []byte) (uint8, bool) {
	if len(b) == 0 {
		return 0, false
	}
	if b[0] >= '0' && b[0] <= '9' {
		n, ok := parseUint(b)
		if !ok || n > 255 {
			return 0, false
		}
		return uint8(n), true
	}
	var buf [16]byte
	if len(b) > len(buf) {
		return 0, false
	}
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	p, ok := protoByName[string(buf[:len(b)])]
	return p, ok
}

// isPortless reports protocols whose records carry no meaningful port.
func isPortless(p uint8) bool { return p != 6 && p != 17 && p != 132 }

func parseUint(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// parseCounter reads a byte/packet/session counter: a non-negative integer,
// or a float such as 1234.0 that some exporters write. Empty is 0.
func parseCounter(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, true
	}
	if n, ok := parseUint(b); ok {
		return n, true
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f < 0 || f > 1e18 || f != f {
		return 0, false
	}
	return int64(f), true
}

// parseTime reads a timestamp: RFC 3339, "2006-01-02 15:04:05[.fff]" (UTC,
// as nfdump writes it), or Unix epoch seconds or milliseconds. Empty is the
// zero time. It returns Unix nanoseconds (0 for zero) to keep aggregation
// cheap.
func parseTime(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, true
	}
	if n, ok := parseUint(b); ok {
		// Unix seconds or milliseconds, within what int64 nanoseconds hold
		// (until 2262).
		switch {
		case n <= 9e9:
			return n * int64(time.Second), true
		case n >= 1e11 && n <= 9e12:
			return n * int64(time.Millisecond), true
		default:
			return 0, false
		}
	}
	if t, ok := fastTime(b); ok {
		return t, true
	}
	s := string(b)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006/01/02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() < 1970 || t.Year() > 2200 {
				return 0, false
			}
			return t.UnixNano(), true
		}
	}
	return 0, false
}

// fastTime handles the common "2006-01-02T15:04:05Z" and
// "2006-01-02 15:04:05" forms without allocating.
func fastTime(b []byte) (int64, bool) {
	var frac int64
	if len(b) > 20 && len(b) <= 29 && b[19] == '.' { // fractions of a second, as nfdump writes them
		scale := int64(1e9)
		for _, c := range b[20:] {
			if c < '0' || c > '9' {
				return 0, false
			}
			scale /= 10
			frac += int64(c-'0') * scale
		}
		b = b[:19]
	}
	if len(b) != 19 && !(len(b) == 20 && b[19] == 'Z') {
		return 0, false
	}
	if b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != ' ') || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	bad := false // a byte above 9 after subtracting '0' (wrapping) is no digit
	d := func(k int) int {
		c := b[k] - '0'
		bad = bad || c > 9
		return int(c)
	}
	y := d(0)*1000 + d(1)*100 + d(2)*10 + d(3)
	mo, dd := d(5)*10+d(6), d(8)*10+d(9)
	h, mi, s := d(11)*10+d(12), d(14)*10+d(15), d(17)*10+d(18)
	if bad || y < 1970 || y > 2200 || mo < 1 || mo > 12 || dd < 1 || dd > 31 || h > 23 || mi > 59 || s > 60 {
		return 0, false
	}
	if dd > 28 && dd > daysIn(y, mo) {
		return 0, false
	}
	return (monthDays[(y-1970)*12+mo-1]+int64(dd-1))*86400*1e9 + int64(h*3600+mi*60+s)*1e9 + frac, true
}

// monthDays[(y-1970)*12 + m-1] is the days from 1970-01-01 to the first of
// month m of year y, for the years fastTime accepts.
var monthDays = func() []int64 {
	t := make([]int64, (2200-1970+1)*12)
	for i := range t {
		t[i] = daysFromCivil(1970+i/12, i%12+1, 1)
	}
	return t
}()

// daysFromCivil is days since 1970-01-01 of a proleptic Gregorian date
// (Howard Hinnant's algorithm): time.Date's arithmetic without its cost.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func timeOf(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// parseAddr parses an IP, unmapping IPv4-in-IPv6 and dropping a zone so the
// same host always has one spelling.
func parseAddr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}
