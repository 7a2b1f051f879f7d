// Command pulumi-language-nodejs is mesh-six's Node.js language host for the Pulumi engine.
//
// Pulumi's own host (module github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs) is not served by
// the Go module proxy this project builds from, so this is a small host over the same gRPC protocol
// (pulumirpc.LanguageRuntime from sdk/v3). It runs programs and plugins with the scripts that ship in the
// project's own @pulumi/pulumi npm package (cmd/run, cmd/run-plugin, cmd/run-policy-pack), so behaviour that
// lives in the SDK (config, secrets, error reporting, exit code 32 "bail") is the SDK's, not ours.
//
// What it does not do: code generation, templates, packing and linking SDKs (pulumi new/convert/package),
// which this project never asks of it; those calls answer Unimplemented.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// version is stamped at build time (-X main.version=…) with the Pulumi release this host is built against.
var version = "0.0.0-dev"

// The SDK's run script exits with this code after it has already shown the user an actionable message.
const exitAfterUserActionableMessage = 32

func main() {
	flag.Bool("tracing", false, "accepted for compatibility; tracing is not supported")
	flag.String("root", "", "accepted for compatibility; the root directory arrives in each request")
	flag.Parse()
	engineAddress := ""
	if flag.NArg() > 0 {
		engineAddress = flag.Arg(flag.NArg() - 1)
	}

	host := &languageHost{engineAddress: engineAddress, running: map[*exec.Cmd]struct{}{}}
	cancel := make(chan bool)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: could not start the gRPC server: %v\n", err)
		os.Exit(1)
	}
	// SIGINT is how the engine closes a plugin (it kills it 5 s later). Go's default already exits on SIGINT, but not
	// when we were started with SIGINT ignored, as every background job of a non-interactive shell is: asking for the
	// signal installs a handler whatever we inherited, so that no run waits those 5 s. Asked for before the port is
	// printed: the engine may close us as soon as it has read it.
	interrupts := make(chan os.Signal, 1)
	signal.Notify(interrupts, os.Interrupt)
	// The engine reads the port from the first line of our standard output.
	fmt.Printf("%d\n", handle.Port)
	var stopOnce sync.Once
	stop := func() {
		stopOnce.Do(func() {
			_, _ = host.Cancel(context.Background(), &emptypb.Empty{})
			close(cancel)
		})
	}
	go exitWithParent(stop)
	go func() {
		<-interrupts
		stop()
	}()
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: %v\n", err)
		os.Exit(1)
	}
}

// exitWithParent calls stop once the engine that started us is gone (we were handed to another parent): an
// engine killed outright never stops its plugins, which would otherwise live on with the programs they run.
func exitWithParent(stop func()) {
	parent := os.Getppid()
	for range time.Tick(2 * time.Second) {
		if os.Getppid() != parent {
			stop()
			return
		}
	}
}

type languageHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	engineAddress string

	mu      sync.Mutex
	running map[*exec.Cmd]struct{}
}

func (h *languageHost) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.engineAddress = req.GetEngineAddress()
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *languageHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// GetRequiredPackages lists the resource plugins that the program's npm dependencies declare (the "pulumi"
// field of their package.json), so the engine can check they are installed before the program starts.
func (h *languageHost) GetRequiredPackages(_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	plugins, err := requiredPlugins(programDirectory(req.GetInfo()))
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetRequiredPackagesResponse{}
	for _, p := range plugins {
		resp.Packages = append(resp.Packages, &pulumirpc.PackageDependency{
			Name: p.Name, Kind: "resource", Version: p.Version, Server: p.Server,
		})
	}
	return resp, nil
}

func (h *languageHost) GetRequiredPlugins(_ context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	plugins, err := requiredPlugins(programDirectory(req.GetInfo()))
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetRequiredPluginsResponse{}
	for _, p := range plugins {
		resp.Plugins = append(resp.Plugins, &pulumirpc.PluginDependency{
			Name: p.Name, Kind: "resource", Version: p.Version, Server: p.Server,
		})
	}
	return resp, nil
}

// Run executes a Pulumi program with the SDK's cmd/run script and reports how it ended.
func (h *languageHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	dir := programDirectory(info)
	runScript, err := sdkScript(dir, "run")
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	entry := "."
	if info.GetEntryPoint() != "" {
		entry = info.GetEntryPoint()
	}

	args := append(nodeArgs(info), runScript,
		"--monitor="+req.GetMonitorAddress(),
		"--engine="+h.engineAddress,
		"--organization="+req.GetOrganization(),
		"--project="+req.GetProject(),
		"--stack="+req.GetStack(),
		"--root-directory="+info.GetRootDirectory(),
		"--pwd="+dir,
		fmt.Sprintf("--parallel=%d", req.GetParallel()))
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	configJSON, err := json.Marshal(req.GetConfig())
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretKeysJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(),
		"PULUMI_CONFIG="+string(configJSON),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretKeysJSON))
	env = append(env, typeScriptEnv(info.GetOptions())...)

	cmd := exec.CommandContext(ctx, nodeExecutable(), args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	code, err := h.runToExit(cmd)
	switch {
	case err != nil:
		return &pulumirpc.RunResponse{Error: "could not start the Node.js program: " + err.Error()}, nil
	case code == exitAfterUserActionableMessage:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case code != 0:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("the Node.js program exited with code %d", code)}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// RunPlugin runs a plugin written in Node.js (a policy pack, for instance), streaming its output back.
func (h *languageHost) RunPlugin(req *pulumirpc.RunPluginRequest,
	stream grpc.ServerStreamingServer[pulumirpc.RunPluginResponse],
) error {
	info := req.GetInfo()
	dir := programDirectory(info)
	program := dir
	if info.GetEntryPoint() != "" && info.GetEntryPoint() != "." {
		program = filepath.Join(dir, info.GetEntryPoint())
	}
	var args []string
	if req.GetKind() == "analyzer" {
		script, err := sdkScript(dir, "run-policy-pack")
		if err != nil {
			return status.Error(codes.FailedPrecondition, err.Error())
		}
		// run-policy-pack takes the engine address first, then the pack.
		args = append(append(append(nodeArgs(info), script), req.GetArgs()...), program)
	} else {
		script, err := sdkScript(dir, "run-plugin")
		if err != nil {
			return status.Error(codes.FailedPrecondition, err.Error())
		}
		args = append(append(nodeArgs(info), script, program), req.GetArgs()...)
	}

	cmd := exec.CommandContext(stream.Context(), nodeExecutable(), args...)
	cmd.Dir = req.GetPwd()
	cmd.Env = append(append(os.Environ(), req.GetEnv()...), typeScriptEnv(info.GetOptions())...)
	send := &lockedSender[pulumirpc.RunPluginResponse]{stream: stream}
	cmd.Stdout = send.writer(func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: b}}
	})
	cmd.Stderr = send.writer(func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: b}}
	})
	code, err := h.runToExit(cmd)
	if err != nil {
		return status.Errorf(codes.Internal, "could not run the Node.js plugin %s: %v", program, err)
	}
	return send.send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(code)}})
}

// InstallDependencies installs the program's npm packages only when none are there: the project's own
// scripts/bootstrap installs them from the lock file, and an engine-initiated install must not undo that.
func (h *languageHost) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	stream grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	dir := programDirectory(req.GetInfo())
	if dir == "" {
		dir = req.GetDirectory() //nolint:staticcheck // older engines send only the directory
	}
	if _, err := findUp(dir, filepath.Join("node_modules", "@pulumi", "pulumi", "package.json")); err == nil {
		return stream.Send(&pulumirpc.InstallDependenciesResponse{Stdout: []byte("npm packages already installed\n")})
	}
	cmd := exec.CommandContext(stream.Context(), "npm", "install", "--no-audit", "--no-fund", "--ignore-scripts")
	cmd.Dir = dir
	send := &lockedSender[pulumirpc.InstallDependenciesResponse]{stream: stream}
	cmd.Stdout = send.writer(func(b []byte) *pulumirpc.InstallDependenciesResponse {
		return &pulumirpc.InstallDependenciesResponse{Stdout: b}
	})
	cmd.Stderr = send.writer(func(b []byte) *pulumirpc.InstallDependenciesResponse {
		return &pulumirpc.InstallDependenciesResponse{Stderr: b}
	})
	code, err := h.runToExit(cmd)
	if err != nil {
		return status.Errorf(codes.Internal, "npm install in %s: %v", dir, err)
	}
	if code != 0 {
		return status.Errorf(codes.Internal, "npm install in %s exited with code %d", dir, code)
	}
	return nil
}

func (h *languageHost) About(ctx context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node := nodeExecutable()
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "could not run %s --version: %v", node, err)
	}
	return &pulumirpc.AboutResponse{Executable: node, Version: strings.TrimPrefix(strings.TrimSpace(string(out)), "v")}, nil
}

// GetProgramDependencies lists the program's direct npm dependencies with their installed versions.
func (h *languageHost) GetProgramDependencies(_ context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := programDirectory(req.GetInfo())
	manifest, err := readPackageJSON(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "reading package.json: %v", err)
	}
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for _, name := range sortedKeys(manifest.Dependencies) {
		installed, err := readPackageJSON(filepath.Join(dir, "node_modules", name, "package.json"))
		if err != nil {
			continue // declared but not installed: nothing to report
		}
		resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: name, Version: installed.Version})
	}
	return resp, nil
}

// Cancel stops every program and plugin this host started; the engine calls it when the user cancels.
func (h *languageHost) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for cmd := range h.running {
		if cmd.Process != nil {
			_ = cmd.Process.Signal(syscall.SIGINT)
		}
	}
	return &emptypb.Empty{}, nil
}

// runToExit runs cmd and returns its exit code; err is set only when it could not run at all.
func (h *languageHost) runToExit(cmd *exec.Cmd) (int, error) {
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	h.mu.Lock()
	h.running[cmd] = struct{}{}
	h.mu.Unlock()
	err := cmd.Wait()
	h.mu.Lock()
	delete(h.running, cmd)
	h.mu.Unlock()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.ExitCode(), nil
	}
	return 0, err
}

// lockedSender forwards a child's stdout and stderr to one gRPC stream, which must not be sent to concurrently.
type lockedSender[T any] struct {
	mu     sync.Mutex
	stream grpc.ServerStreamingServer[T]
}

func (l *lockedSender[T]) send(msg *T) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stream.Send(msg)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (l *lockedSender[T]) writer(wrap func([]byte) *T) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		if err := l.send(wrap(append([]byte(nil), p...))); err != nil {
			return 0, err
		}
		return len(p), nil
	})
}

func programDirectory(info *pulumirpc.ProgramInfo) string {
	if info == nil {
		return ""
	}
	if info.GetProgramDirectory() != "" {
		return info.GetProgramDirectory()
	}
	return info.GetRootDirectory()
}

// nodeArgs are the Pulumi.yaml runtime option `nodeargs` (e.g. "--import tsx"), split on spaces. A module given to
// --require, -r or --import as a relative path ("./x.cjs", "../x.cjs") is taken from the directory of the manifest
// that names it (Pulumi.yaml, PulumiPolicy.yaml): a policy pack runs in the engine's working directory, not its own.
func nodeArgs(info *pulumirpc.ProgramInfo) []string {
	dir := info.GetRootDirectory()
	if dir == "" {
		dir = programDirectory(info)
	}
	v, ok := info.GetOptions().GetFields()["nodeargs"]
	if !ok {
		return nil
	}
	args := strings.Fields(v.GetStringValue())
	for i := 1; i < len(args); i++ {
		switch args[i-1] {
		case "--require", "-r", "--import":
			if strings.HasPrefix(args[i], "./") || strings.HasPrefix(args[i], "../") {
				args[i] = filepath.Join(dir, args[i])
			}
		}
	}
	return args
}

// typeScriptEnv passes the runtime options the SDK's run script reads from the environment. Unlike Pulumi's
// host, TypeScript via ts-node is off unless `typescript: true` is set: this project loads TypeScript with tsx.
func typeScriptEnv(options *structpb.Struct) []string {
	fields := options.GetFields()
	var env []string
	if v, ok := fields["typescript"]; ok && v.GetBoolValue() {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if v, ok := fields["tsconfig"]; ok && v.GetStringValue() != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+v.GetStringValue())
	}
	return env
}

func nodeExecutable() string {
	if node := os.Getenv("PULUMI_NODEJS_NODE"); node != "" {
		return node
	}
	if node, err := exec.LookPath("node"); err == nil {
		return node
	}
	return "node"
}

// sdkScript finds one of @pulumi/pulumi's cmd/ scripts in the nearest node_modules above dir.
func sdkScript(dir, name string) (string, error) {
	script, err := findUp(dir, filepath.Join("node_modules", "@pulumi", "pulumi", "cmd", name, "index.js"))
	if err != nil {
		return "", fmt.Errorf("the @pulumi/pulumi npm package is not installed for %s (run npm ci or scripts/bootstrap)", dir)
	}
	return filepath.Dir(script), nil
}

func findUp(dir, rel string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		candidate := filepath.Join(d, rel)
		if _, err := os.Stat(candidate); err == nil {
			return candidate, nil
		}
		if filepath.Dir(d) == d {
			return "", os.ErrNotExist
		}
	}
}

type packageJSON struct {
	Name         string            `json:"name"`
	Version      string            `json:"version"`
	Dependencies map[string]string `json:"dependencies"`
	Pulumi       *struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
	} `json:"pulumi"`
}

func readPackageJSON(path string) (*packageJSON, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p packageJSON
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &p, nil
}

type pluginDependency struct{ Name, Version, Server string }

// requiredPlugins reads the program's direct dependencies; a resource SDK declares its plugin in package.json.
func requiredPlugins(dir string) ([]pluginDependency, error) {
	manifestPath, err := findUp(dir, "package.json")
	if err != nil {
		return nil, nil
	}
	manifest, err := readPackageJSON(manifestPath)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	root := filepath.Dir(manifestPath)
	var plugins []pluginDependency
	for _, name := range sortedKeys(manifest.Dependencies) {
		dep, err := readPackageJSON(filepath.Join(root, "node_modules", name, "package.json"))
		if err != nil || dep.Pulumi == nil || !dep.Pulumi.Resource {
			continue
		}
		plugin := pluginDependency{Name: dep.Pulumi.Name, Version: dep.Pulumi.Version, Server: dep.Pulumi.Server}
		if plugin.Name == "" {
			plugin.Name = strings.TrimPrefix(dep.Name, "@pulumi/")
		}
		if plugin.Version == "" {
			plugin.Version = dep.Version
		}
		plugins = append(plugins, plugin)
	}
	return plugins, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
