package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"
	"google.golang.org/api/option"

	"github.com/ferrymigrate/ferry/ferryclient"
	"github.com/ferrymigrate/ferry/gcp"
	ferryid "github.com/ferrymigrate/ferry/identity"
	"github.com/ferrymigrate/ferry/planstore"
)

// EnvPlanStore names the store of reviewed plans (a directory, or
// gs://bucket/prefix); the worker reads it, `ferry plan publish` writes it.
const EnvPlanStore = "FERRY_PLAN_STORE"

// bundle builds the plan bundle of the plan flags: the plan file with the
// inventory and flow files it was validated against.
func (p *planFlags) bundle(ctx context.Context, g *globals, cmd *cobra.Command) (*planstore.Bundle, error) {
	if _, _, err := p.specs(ctx, g, cmd.ErrOrStderr()); err != nil { // validates, prints diagnostics
		return nil, err
	}
	if p.src.sample {
		return nil, fmt.Errorf("a reviewed plan names its inventory file: write it with 'ferry discover --sample --out inventory.json' and pass --inventory")
	}
	return planstore.Build(p.file, p.src.inventoryFile, p.src.flows)
}

func newPlanPublishCmd(g *globals) *cobra.Command {
	var pf planFlags
	var store string
	cmd := &cobra.Command{
		Use:   "publish",
		Short: "Publish the reviewed plan (with its inventory and flows) to the store workers read",
		Long: `Workers run only plans from their plan store (FERRY_PLAN_STORE): a workflow
names the app or wave and the digest of the plan it was started from, and the
worker resolves the spec itself. Publish from the reviewed commit, usually in
CI on merge; whoever may publish is who decides what workers run.`,
		Example: `  ferry plan publish -f ferry.hcl --inventory inventory.json --flows flows.csv --store gs://acme-ferry/plans`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			b, err := pf.bundle(ctx, g, cmd)
			if err != nil {
				return err
			}
			if store == "" {
				store = os.Getenv(EnvPlanStore)
			}
			s, err := planstore.Open(ctx, store, storageOptions()...)
			if err != nil {
				return err
			}
			d, err := s.Put(ctx, b)
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), map[string]string{"digest": d, "store": s.String()}, func(tw *tabwriter.Writer) {
				fmt.Fprintf(tw, "published %s to %s\n", d, s)
			})
		},
	}
	pf.add(cmd)
	cmd.Flags().StringVar(&store, "store", "", "plan store: a directory or gs://bucket/prefix (default $"+EnvPlanStore+")")
	return cmd
}

func newPlanDigestCmd(g *globals) *cobra.Command {
	var pf planFlags
	cmd := &cobra.Command{
		Use:   "digest",
		Short: "Print the digest a migration started from these files would carry",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := pf.bundle(cmd.Context(), g, cmd)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), b.Digest())
			return nil
		},
	}
	pf.add(cmd)
	return cmd
}

// signer finds the key the CLI signs approvals and actions with:
// FERRY_SIGNING_KEY, else the dev stack's key for FERRY_USER in the state
// directory, else ~/.ssh/id_ed25519. nil means unsigned (refused unless the
// plan sets allow_unverified).
func (g *globals) signer(user string) (ssh.Signer, error) {
	if f := os.Getenv(ferryid.EnvSigningKey); f != "" {
		return ferryid.LoadSigner(f)
	}
	for _, f := range []string{filepath.Join(g.StateDir, "keys", ferryid.Normalize(user)), homeKey()} {
		if _, err := os.Stat(f); err == nil && f != "" {
			return ferryid.LoadSigner(f)
		}
	}
	return nil, nil
}

func homeKey() string {
	h, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(h, ".ssh", "id_ed25519")
}

// client dials Temporal and returns a ferry client acting as the CLI user.
func (g *globals) client(ctx context.Context, cmd *cobra.Command) (*ferryclient.Client, func(), error) {
	user := identity()
	s, err := g.signer(user)
	if err != nil {
		return nil, nil, err
	}
	if s == nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: no signing key (set %s): the request goes unsigned and only plans with allow_unverified accept it\n", ferryid.EnvSigningKey)
	}
	c, err := g.dial(ctx)
	if err != nil {
		return nil, nil, err
	}
	return &ferryclient.Client{Temporal: c, User: user, Signer: s}, c.Close, nil
}

// storageOptions point the GCS client of a gs:// plan store at the
// endpoints of the environment (gcpfake in the dev stack).
func storageOptions() []option.ClientOption {
	return gcp.Config{ComputeEndpoint: os.Getenv("FERRY_GCP_COMPUTE_ENDPOINT"), StorageEndpoint: os.Getenv("FERRY_GCP_STORAGE_ENDPOINT")}.StorageOptions()
}
