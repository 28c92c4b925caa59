package catalog

import "errors"

// Kind classifies a refusal, matching the error GCE itself returns.
type Kind string

const (
	KindUnknownMachineType Kind = "unknown-machine-type"
	KindNotInZone          Kind = "machine-type-not-in-zone"
	KindUnknownZone        Kind = "unknown-zone"
	KindUnknownRegion      Kind = "unknown-region"
	KindUnknownImage       Kind = "unknown-image"
)

// Error is a refusal by the catalogue: what was refused and what to use.
type Error struct {
	Kind Kind
	Name string // the refused machine type, zone, region or image
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// KindOf returns the kind of a catalogue error, or "".
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}
