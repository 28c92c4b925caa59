package plan

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseDuration is time.ParseDuration plus days ("d") and weeks ("w"),
// which retention periods and bakes are naturally written in ("14d").
func ParseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("empty duration: write e.g. 30m, 4h, 14d")
	}
	var total time.Duration
	rest := in
	var std strings.Builder
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		j := i
		for j < len(rest) && !(rest[j] >= '0' && rest[j] <= '9' || rest[j] == '.') {
			j++
		}
		num, unit := rest[:i], rest[i:j]
		rest = rest[j:]
		if num == "" {
			return 0, fmt.Errorf("%q is not a duration: write e.g. 30m, 4h, 14d", in)
		}
		switch unit {
		case "d", "w":
			f, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, fmt.Errorf("%q is not a duration: write e.g. 30m, 4h, 14d", in)
			}
			h := 24.0
			if unit == "w" {
				h = 24 * 7
			}
			total += time.Duration(f * h * float64(time.Hour))
		default:
			std.WriteString(num + unit)
		}
	}
	if std.Len() > 0 {
		d, err := time.ParseDuration(std.String())
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration: write e.g. 30m, 4h, 14d", in)
		}
		total += d
	}
	return total, nil
}
