package main

import (
	"context"
	"errors"

	"github.com/ferrymigrate/ferry/inventory"
)

// sampleInventory is replaced by the sample portfolio once inventory/sample
// lands.
func sampleInventory(ctx context.Context) (*inventory.Inventory, []byte, error) {
	return nil, nil, errors.New("--sample is not available in this build yet: pass --inventory FILE")
}
