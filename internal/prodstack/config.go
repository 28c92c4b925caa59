package prodstack

import (
	"encoding/json"
	"fmt"
	"os"
)

// ports are the server's loopback ports, fixed for the stack's life so a
// restarted server is where clients and workers expect it.
type ports struct {
	Frontend, FrontendHTTP, FrontendMembership int
	History, HistoryMembership                 int
	Matching, MatchingMembership               int
	Worker, WorkerMembership                   int
}

// tlsFiles are the PEM files the server reads.
type tlsFiles struct {
	CA                     string // signs every certificate here, and is the only CA trusted for clients
	FrontendCert, FrontKey string // the frontend's server certificate
	SystemCert, SystemKey  string // the server's own system worker, a client of the frontend
	ServerName             string // in the frontend certificate; what the system worker verifies
}

// serverConfig renders the server's configuration: the layout of the
// module's config/development-postgres12.yaml, with PostgreSQL for
// persistence and visibility and a frontend that serves mTLS only. It is
// written as JSON, which the server's YAML loader reads as it is: the
// document is built from values, never from text templates.
func serverConfig(pg *postgres, p ports, tf tlsFiles, dynamicConfig, logFile string) map[string]any {
	sqlStore := func(db string, conns int) map[string]any {
		return map[string]any{"sql": map[string]any{
			"pluginName":      "postgres12",
			"databaseName":    db,
			"connectAddr":     pg.addr(),
			"connectProtocol": "tcp",
			"user":            pg.user,
			"password":        pg.password,
			"maxConns":        conns,
			"maxIdleConns":    conns,
			"maxConnLifetime": "1h",
		}}
	}
	rpc := func(grpc, membership int) map[string]any {
		return map[string]any{"rpc": map[string]any{"grpcPort": grpc, "membershipPort": membership, "bindOnIP": "127.0.0.1"}}
	}
	frontend := rpc(p.Frontend, p.FrontendMembership)
	frontend["rpc"].(map[string]any)["httpPort"] = p.FrontendHTTP
	return map[string]any{
		"log": map[string]any{"stdout": false, "outputFile": logFile, "level": "warn"},
		"persistence": map[string]any{
			"defaultStore":     "postgres-default",
			"visibilityStore":  "postgres-visibility",
			"numHistoryShards": 4,
			"datastores": map[string]any{
				"postgres-default":    sqlStore(databaseTemporal, 20),
				"postgres-visibility": sqlStore(databaseVisibility, 10),
			},
		},
		"global": map[string]any{
			"membership": map[string]any{"maxJoinDuration": "30s", "broadcastAddress": "127.0.0.1"},
			"tls": map[string]any{
				// Internode traffic stays on loopback in plaintext; every
				// client, the server's own system worker included, must
				// present a certificate of the stack's CA to the frontend.
				"frontend": map[string]any{
					"server": map[string]any{
						"certFile":          tf.FrontendCert,
						"keyFile":           tf.FrontKey,
						"requireClientAuth": true,
						"clientCaFiles":     []string{tf.CA},
					},
				},
				"systemWorker": map[string]any{
					"certFile": tf.SystemCert,
					"keyFile":  tf.SystemKey,
					"client":   map[string]any{"serverName": tf.ServerName, "rootCaFiles": []string{tf.CA}},
				},
			},
		},
		"services": map[string]any{
			"frontend": frontend,
			"history":  rpc(p.History, p.HistoryMembership),
			"matching": rpc(p.Matching, p.MatchingMembership),
			"worker":   rpc(p.Worker, p.WorkerMembership),
		},
		"clusterMetadata": map[string]any{
			"enableGlobalNamespace":    false,
			"failoverVersionIncrement": 10,
			"masterClusterName":        "active",
			"currentClusterName":       "active",
			"clusterInformation": map[string]any{"active": map[string]any{
				"enabled":                true,
				"initialFailoverVersion": 1,
				"rpcName":                "frontend",
				"rpcAddress":             fmt.Sprintf("127.0.0.1:%d", p.Frontend),
				"httpAddress":            fmt.Sprintf("127.0.0.1:%d", p.FrontendHTTP),
			}},
		},
		"dcRedirectionPolicy": map[string]any{"policy": "noop"},
		"dynamicConfigClient": map[string]any{"filepath": dynamicConfig, "pollInterval": "10s"},
	}
}

// dynamicConfigYAML is the server's dynamic config, which operators tune
// at run time: the server's defaults, with the ID length limit of the
// module's config/dynamicconfig/development-sql.yaml.
const dynamicConfigYAML = `# ferry's production-shaped test stack
limit.maxIDLength:
  - value: 255
    constraints: {}
`

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}
