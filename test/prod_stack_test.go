package test

import (
	"os"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/internal/prodstack"
)

// prodBackend is the production-shaped Temporal cluster (the server built
// from go.temporal.io/server, PostgreSQL persistence and visibility, a
// frontend serving mTLS only) as a chaos stack's backend.
type prodBackend struct{ *prodstack.Stack }

func (p prodBackend) WorkerArgs() []string { return p.FerryFlags() }
func (p prodBackend) String() string       { return "temporal server (PostgreSQL, mTLS)" }

func startProdBackend(t *testing.T) temporalBackend {
	return prodBackend{prodstack.Start(t, prodstack.Options{})}
}

// prodChaosSettings is the multi-worker fault run: short under `make test`
// (a few apps, two workers, a kill mid-apply and one mid-cutover on the
// other worker, one server restart), long under `make soak`.
func prodChaosSettings() chaosConfig {
	c := chaosConfig{name: "prod-chaos", apps: 4, workers: 2, randomKills: 0, minKills: 2,
		restartAfter: 30 * time.Second, timeout: 15 * time.Minute}
	if os.Getenv("FERRY_SOAK") != "" {
		c.apps, c.workers, c.randomKills, c.minKills, c.restartAfter, c.timeout = 10, 3, 30, 30, 60*time.Second, 80*time.Minute
	}
	return c.seeded()
}
