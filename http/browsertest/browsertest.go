// Package browsertest starts the headless Chromium the page tests drive
// (Debian's chromium, through chromedp), for the tests of any package that
// serves the pages: http's own, and the end-to-end tests that run a whole
// node. Without Chromium a test skips, unless HEALTHCODE_TEST_BROWSER or
// HEALTHCODE_CI is set: then it fails. HEALTHCODE_CHROMIUM names another
// browser binary; HEALTHCODE_SCREENSHOTS a directory to keep screenshots in.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
)

// ChromiumPath finds the browser, or skips (fails when a browser is
// required).
func ChromiumPath(t testing.TB) string {
	t.Helper()
	for _, p := range []string{os.Getenv("HEALTHCODE_CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("HEALTHCODE_TEST_BROWSER") != "" || os.Getenv("HEALTHCODE_CI") != "" {
		t.Fatal("Chromium is required here (HEALTHCODE_TEST_BROWSER or HEALTHCODE_CI is set) but /usr/bin/chromium is missing: apt-get install chromium")
	}
	t.Skip("no Chromium (apt-get install chromium, or set HEALTHCODE_CHROMIUM); set HEALTHCODE_TEST_BROWSER=1 to make this a failure")
	return ""
}

// New starts a headless Chromium with a new empty profile and returns a
// tab's context, with the viewport of a 360 px wide phone. The machine's
// network is closed: everything that would call out is off. The browser
// is stopped when the test ends.
func New(t testing.TB, flags ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("mute-audio", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(360, 740),
	}, flags...)
	ctx, cancelTimeout := context.WithTimeout(context.Background(), 5*time.Minute) // a loaded machine is slow, a hung browser still ends
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tab, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelTab(); cancelAlloc(); cancelTimeout() })
	if err := chromedp.Do(tab,
		chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait),
	); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	if _, err := chromedp.Call(tab, accessibility.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	return tab
}

// Do runs the steps, failing the test on an error.
func Do(t testing.TB, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// Eval evaluates js in the page and returns its value.
func Eval[T any](t testing.TB, ctx context.Context, js string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, opts...))
	if err != nil {
		t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// Screenshot writes the whole page to a PNG file named name, under
// HEALTHCODE_SCREENSHOTS if set, else the test's temporary directory, and
// returns its path.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	dir := os.Getenv("HEALTHCODE_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	return path
}

// Login signs in with token on the login form the page shows, and waits
// until sel is visible.
func Login[S chromedp.Selectable](t testing.TB, ctx context.Context, token string, sel S) {
	t.Helper()
	Do(t, ctx,
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(sel),
	)
}
