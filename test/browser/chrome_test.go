package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/ferrymigrate/ferry/internal/testenv"
)

// newBrowser starts Debian's chromium (headless, fresh profile, 1600×1200)
// for one test and returns its context.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	bin := testenv.Chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1600, 1200),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// Start the browser without a timeout: a timeout here would kill it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v", bin, err)
	}
	return ctx
}

// within runs actions with their own timeout and fails the test, naming
// the step, when they fail.
func within(t *testing.T, ctx context.Context, d time.Duration, step string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		t.Fatalf("%s: %v", step, err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(sctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// visibleJS is a JS expression for the first rendered element matching css
// inside scope (both CSS selectors; scope "" is the document). The Temporal
// UI renders its header, menu and dialogs twice, one copy hidden.
func visibleJS(scope, css string) string { return visibleTextJS(scope, css, "") }

// visibleTextJS is visibleJS for an element whose trimmed text is text
// ("" matches any).
func visibleTextJS(scope, css, text string) string {
	sc, _ := json.Marshal(scope)
	cs, _ := json.Marshal(css)
	tx, _ := json.Marshal(text)
	return fmt.Sprintf(`(() => {
	  const roots = %s ? [...document.querySelectorAll(%s)].filter(e => e.getClientRects().length > 0) : [document];
	  for (const r of roots) {
	    const el = [...r.querySelectorAll(%s)].find(e => e.getClientRects().length > 0 && (%s === "" || e.textContent.trim() === %s));
	    if (el) return el;
	  }
	  return null;
	})()`, sc, sc, cs, tx, tx)
}

// waitJS polls a JS condition until it is true.
func waitJS(t *testing.T, ctx context.Context, d time.Duration, what, cond string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if ok := eval[bool](t, ctx, "!!("+cond+")"); ok {
			return
		}
		if time.Now().After(deadline) {
			shot(t, ctx, "timeout")
			t.Fatalf("timed out after %s waiting for %s (%s)", d, what, cond)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// click waits for a rendered element and clicks its centre with the mouse.
func click(t *testing.T, ctx context.Context, scope, css string) {
	t.Helper()
	clickText(t, ctx, scope, css, "")
}

// clickText clicks the first rendered element matching css whose text is
// text.
func clickText(t *testing.T, ctx context.Context, scope, css, text string) {
	t.Helper()
	el := visibleTextJS(scope, css, text)
	waitJS(t, ctx, 20*time.Second, css, el)
	type pt struct{ X, Y float64 }
	p := eval[pt](t, ctx, fmt.Sprintf(`(() => { const e = %s; e.scrollIntoView({block: "center"}); const r = e.getBoundingClientRect(); return {X: r.x + r.width/2, Y: r.y + r.height/2}; })()`, el))
	within(t, ctx, 10*time.Second, "click "+css, chromedp.MouseClickXY(p.X, p.Y))
}

// insertText types text as the DevTools Input.insertText command does
// (an editor with auto-closing brackets sees one insertion).
func insertText(text string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: text})
		return err
	})
}

// shot saves a screenshot under $FERRY_BROWSER_DEBUG (a directory) when set.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("FERRY_BROWSER_DEBUG")
	if dir == "" {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	b, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644)
	}
	if err != nil {
		t.Logf("debug screenshot %s: %v", name, err)
	}
}
