package inventory

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// maxFile bounds what Decode reads: an inventory of tens of thousands of
// VMs is tens of megabytes; a gigabyte is not an inventory.
const maxFile = 1 << 30

// Load reads an inventory file that 'ferry discover -o json' wrote.
// Errors name the file and what to do.
func Load(path string) (*Inventory, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read inventory: %w (write one with 'ferry discover -o json --out %s')", err, path)
	}
	defer fh.Close()
	return Decode(fh, path)
}

// Decode reads inventory JSON from r; name says where it came from in
// errors. An inventory of another schema version is refused.
func Decode(r io.Reader, name string) (*Inventory, error) {
	var inv Inventory
	if err := json.NewDecoder(io.LimitReader(r, maxFile)).Decode(&inv); err != nil {
		return nil, fmt.Errorf("inventory %s: not ferry inventory JSON: %w", name, err)
	}
	if inv.Schema != SchemaVersion {
		return nil, fmt.Errorf("inventory %s: schema %q, want %q (re-run 'ferry discover -o json')", name, inv.Schema, SchemaVersion)
	}
	return &inv, nil
}
