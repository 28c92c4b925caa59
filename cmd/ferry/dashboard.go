package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrymigrate/ferry/dashboard"
)

func newDashboardCmd(g *globals) *cobra.Command {
	var pf planFlags
	var listen, uiURL string
	var allowRemote bool
	var refresh time.Duration
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Serve a read-only web page: burndown, app table with Temporal UI links, dependency graph, wave timeline",
		Long: `A web page rendered on the server (HTML and SVG, no build step) that
refreshes itself: the burndown with its forecast, every app's stage with a
link to its workflow in the Temporal UI and its runbooks, the dependency graph
coloured migrated/remaining (click an app for its blast radius) and the wave
timeline. It only reads (GET); approvals happen in the Temporal UI or with
'ferry migrate approve'. It binds to loopback unless --allow-remote.`,
		Example: `  ferry dashboard
  ferry dashboard --listen 127.0.0.1:9090 --ui-url http://temporal-ui.internal:8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := dashboard.CheckListen(listen, allowRemote); err != nil {
				return err
			}
			ctx := cmd.Context()
			p, specs, err := pf.specs(ctx, g, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			_, d, err := pf.src.load(ctx)
			if err != nil {
				return err
			}
			c, err := g.dial(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			srv := &http.Server{
				Handler: dashboard.New(dashboard.Config{Visibility: c, Namespace: g.Namespace, UIURL: uiURL,
					Plan: p, Specs: specs, Deps: d, Refresh: refresh, Log: g.log}),
				ReadHeaderTimeout: 10 * time.Second,
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("listen on %s: %w (pick another port with --listen)", listen, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ferry dashboard on http://%s (Ctrl-C stops it)\n", ln.Addr())
			go func() {
				<-ctx.Done()
				sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(sctx)
			}()
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	pf.add(cmd)
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8080", "address to serve on (loopback unless --allow-remote)")
	f.BoolVar(&allowRemote, "allow-remote", false, "allow a non-loopback --listen address (the page has no login)")
	f.StringVar(&uiURL, "ui-url", envOr([]string{"FERRY_UI_URL"}, "http://localhost:8233"), "Temporal UI base URL for workflow links (env FERRY_UI_URL)")
	f.DurationVar(&refresh, "refresh", 15*time.Second, "how often the page refreshes its data")
	return cmd
}
