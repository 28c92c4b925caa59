package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"

	"github.com/ferrymigrate/ferry/codec"
	ferryid "github.com/ferrymigrate/ferry/identity"
)

// dial connects to Temporal with ferry's data converter (payloads
// encrypted when a codec key is configured).
func (g *globals) dial(ctx context.Context) (client.Client, error) {
	opts := client.Options{
		HostPort:  g.TemporalAddress,
		Namespace: g.Namespace,
		Logger:    tlog.NewStructuredLogger(g.log),
		Identity:  identity(),
		// The identity travels in the header of approvals, so the workflow
		// refuses one whose approver is someone else.
		Interceptors: []interceptor.ClientInterceptor{ferryid.NewClientInterceptor(identity())},
	}
	keys, err := codec.KeyringFromEnv(os.Getenv)
	switch {
	case err == nil:
		dc, err := codec.DataConverter(keys)
		if err != nil {
			return nil, err
		}
		opts.DataConverter = dc
	case !errors.Is(err, codec.ErrNoKey):
		return nil, err
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("cannot reach Temporal at %s (namespace %s): %w\n  start the local stack with `ferry dev`, or set --temporal-address / FERRY_TEMPORAL_ADDRESS", g.TemporalAddress, g.Namespace, err)
	}
	return c, nil
}

// identity is who the CLI acts as: FERRY_USER, else the login name.
func identity() string {
	if u := os.Getenv("FERRY_USER"); u != "" {
		return u
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}
