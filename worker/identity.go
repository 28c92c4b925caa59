package worker

import (
	"fmt"
	"os"
)

func identity() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("ferry-worker@%s:%d", host, os.Getpid())
}
