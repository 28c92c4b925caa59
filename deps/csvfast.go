package deps

import (
	"bytes"
	"encoding/binary"
)

// fastLine parses the common shape of a data line in one pass over its
// bytes: no quotes, no padding, dotted-quad IPv4 addresses, plain integer
// counters and ports. IPs and integers are read straight from the bytes,
// which also finds the comma after them; only other columns are scanned
// for their end. It fills c.rec and returns true, or returns false as soon
// as anything is unusual; parseLine then parses the line again, the general
// way, and says what is wrong. So this path accepts a subset of what
// parseLine accepts, with the same result, and never decides an error.
func (c *csvParser) fastLine(line []byte) bool {
	rc := &c.rec
	*rc = record{proto: 6}
	port := -1
	synOnly := false
	var dir uint8
	i := 0
	for col, r := range c.roles {
		if col > 0 {
			if i >= len(line) || line[i] != ',' {
				return false
			}
			i++
		}
		switch r {
		case colSrcIP, colDstIP:
			v, n := ipv4At(line, i)
			if n == 0 || v >= internBase {
				return false
			}
			if r == colSrcIP {
				rc.src = v
			} else {
				rc.dst = v
			}
			i = n
		case colDstPort:
			v, n, ok := uintAt(line, i)
			if !ok || n == i || v > 65535 {
				return false
			}
			port, i = int(v), n
		case colFirst, colLast:
			ns, n, ok := timeAt(line, i)
			if !ok {
				return false
			}
			if r == colFirst {
				rc.first = ns
			} else {
				rc.last = ns
			}
			i = n
		case colNone: // not used: skip to the next comma
			if j := bytes.IndexByte(line[i:], ','); j >= 0 {
				i += j
			} else {
				i = len(line)
			}
		case colSrcPort:
			v, n, ok := uintAt(line, i)
			if !ok || v > 65535 {
				return false
			}
			rc.sport, i = int32(v), n
		case colOutBytes, colOutPackets:
			v, n, ok := uintAt(line, i)
			if !ok {
				return false
			}
			if r == colOutBytes {
				rc.bytes += v
			} else {
				rc.packets += v
			}
			i = n
		case colFlags, colDirection:
			end := len(line)
			if j := bytes.IndexByte(line[i:], ','); j >= 0 {
				end = i + j
			}
			f := line[i:end]
			i = end
			if len(f) == 0 {
				continue
			}
			if r == colDirection {
				if len(f) != 1 || f[0] < '0' || f[0] > '3' {
					return false // names: parseLine reads them
				}
				dir, _ = parseBiflowDirection(f)
				continue
			}
			syn, ack, ok := parseTCPFlags(f)
			if !ok {
				return false
			}
			synOnly = syn && !ack
		case colProto:
			if e := i + 3; e <= len(line) && (e == len(line) || line[e] == ',') && (string(line[i:e]) == "tcp" || string(line[i:e]) == "TCP") {
				i = e // the common case, without looking for the comma
				continue
			}
			end := len(line)
			if j := bytes.IndexByte(line[i:], ','); j >= 0 {
				end = i + j
			}
			f := line[i:end]
			i = end
			if len(f) > 0 {
				var ok bool
				if f[0] == ' ' || f[0] == '\t' || f[len(f)-1] == ' ' || f[len(f)-1] == '\t' || f[0] == '"' {
					return false // padded or quoted: parseLine handles it
				}
				if rc.proto, ok = parseProto(f); !ok {
					return false
				}
			}
		case colBytes, colPackets, colCount:
			v, n, ok := uintAt(line, i)
			if !ok {
				return false
			}
			switch r {
			case colBytes:
				rc.bytes = v
			case colPackets:
				rc.packets = v
			default:
				rc.count = v
			}
			i = n
		default:
			if i < len(line) && line[i] == '"' {
				return false // quoted: parseLine unquotes
			}
			end := len(line)
			if j := bytes.IndexByte(line[i:], ','); j >= 0 {
				end = i + j
			}
			f := line[i:end]
			i = end
			if len(f) > 0 && (f[0] == ' ' || f[0] == '\t' || f[len(f)-1] == ' ' || f[len(f)-1] == '\t') {
				return false // padded: parseLine trims
			}
			switch r {
			case colSrcName:
				rc.srcName = f
			case colDstName:
				rc.dstName = f
			}
		}
	}
	if i != len(line) || port < 0 {
		return false
	}
	if rc.first != 0 && rc.last != 0 && rc.last < rc.first {
		return false
	}
	if rc.proto == 1 || rc.proto == 58 {
		return false // ICMP: parseLine reads the type
	}
	if isPortless(rc.proto) {
		port, rc.sport = 0, 0
	}
	rc.port = port
	if synOnly && rc.proto == 6 {
		rc.hint = hintSrcClient
	}
	if dir != hintNone {
		rc.hint = dir
	}
	if rc.count == 0 {
		rc.count = 1
	}
	if rc.srcName != nil {
		c.ips.setName(rc.src, rc.srcName)
	}
	if rc.dstName != nil {
		c.ips.setName(rc.dst, rc.dstName)
	}
	return true
}

// ipv4At reads a dotted-quad IPv4 address at b[i:] as parseIPv4 does (no
// leading zeros) and returns it with the index just past it, which must be
// the end of b or a comma; n is 0 when there is no such address.
func ipv4At(b []byte, i int) (v uint32, n int) {
	for octet := 0; ; octet++ {
		if i >= len(b) {
			return 0, 0
		}
		x := uint32(b[i] - '0')
		if x > 9 {
			return 0, 0
		}
		i++
		if i < len(b) {
			if d := uint32(b[i] - '0'); d <= 9 {
				if x == 0 {
					return 0, 0 // a leading zero
				}
				x = x*10 + d
				i++
				if i < len(b) {
					if d := uint32(b[i] - '0'); d <= 9 {
						x = x*10 + d
						i++
						if x > 255 {
							return 0, 0
						}
					}
				}
			}
		}
		v = v<<8 | x
		if octet == 3 {
			break
		}
		if i >= len(b) || b[i] != '.' {
			return 0, 0
		}
		i++
	}
	if i < len(b) && b[i] != ',' {
		return 0, 0
	}
	return v, i
}

// uintAt reads decimal digits at b[i:] up to the end of b or a comma and
// returns the value and the index past them; ok is false for anything but
// digits before the comma or more than 18 digits (what parseUint refuses).
func uintAt(b []byte, i int) (v int64, n int, ok bool) {
	start := i
	for ; i < len(b); i++ {
		d := b[i] - '0'
		if d > 9 {
			if b[i] == ',' {
				break
			}
			return 0, 0, false
		}
		v = v*10 + int64(d)
	}
	if i-start > 18 {
		return 0, 0, false // v may have wrapped; refused anyway
	}
	return v, i, true
}

// timeAt reads a timestamp at b[i:] up to the end of b or a comma. The
// common "2006-01-02T15:04:05Z" is read in place; anything else goes
// through parseTime. It returns Unix nanoseconds (0 for an empty field)
// and the index past the field.
func timeAt(b []byte, i int) (ns int64, n int, ok bool) {
	if e := i + 20; e <= len(b) && b[i+19] == 'Z' && (e == len(b) || b[e] == ',') {
		if ns, ok := rfc3339UTC(b[i:e]); ok {
			return ns, e, true
		}
		return 0, 0, false
	}
	end := len(b)
	if j := bytes.IndexByte(b[i:], ','); j >= 0 {
		end = i + j
	}
	f := b[i:end]
	if len(f) > 0 && (f[0] == ' ' || f[0] == '\t' || f[len(f)-1] == ' ' || f[len(f)-1] == '\t') {
		return 0, 0, false // padded: parseLine trims
	}
	ns, ok = parseTime(f)
	return ns, end, ok
}

// rfc3339UTC is fastTime for exactly "2006-01-02T15:04:05Z", checking the
// digits and separators eight bytes at a time.
func rfc3339UTC(b []byte) (int64, bool) {
	if len(b) != 20 {
		return 0, false
	}
	lo := binary.LittleEndian.Uint64(b[0:8])           // YYYY-MM-
	mid := binary.LittleEndian.Uint64(b[8:16])         // DDTHH:MM
	hi := uint64(binary.LittleEndian.Uint32(b[16:20])) // :SSZ
	const (
		loDigits  = 0x00FFFF00FFFFFFFF // bytes 0-3, 5-6
		midDigits = 0xFFFF00FFFF00FFFF // bytes 8-9, 11-12, 14-15
		hiDigits  = 0x00FFFF00         // bytes 17-18
		ones      = 0x3030303030303030
		six       = 0x0606060606060606
		high      = 0xF0F0F0F0F0F0F0F0
	)
	digits := func(x, m uint64) bool { // every byte under m is '0'-'9'
		return x&high&m == ones&m && (x+six)&high&m == ones&m
	}
	if !digits(lo, loDigits) || !digits(mid, midDigits) || !digits(hi, hiDigits) ||
		lo&^loDigits != 0x2D00002D00000000 || mid&^midDigits != 0x00003A0000540000 || hi&^hiDigits != 0x5A00003A {
		return 0, false
	}
	lo -= ones & loDigits
	mid -= ones & midDigits
	hi -= ones & hiDigits
	dig := func(x uint64, k uint) int { return int(x >> (8 * k) & 0xFF) }
	y := dig(lo, 0)*1000 + dig(lo, 1)*100 + dig(lo, 2)*10 + dig(lo, 3)
	mo, d := dig(lo, 5)*10+dig(lo, 6), dig(mid, 0)*10+dig(mid, 1)
	h, mi, s := dig(mid, 3)*10+dig(mid, 4), dig(mid, 6)*10+dig(mid, 7), dig(hi, 1)*10+dig(hi, 2)
	if y < 1970 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 {
		return 0, false
	}
	if d > 28 && d > daysIn(y, mo) {
		return 0, false
	}
	return (monthDays[(y-1970)*12+mo-1]+int64(d-1))*86400*1e9 + int64(h*3600+mi*60+s)*1e9, true
}
