#!/usr/bin/env python3
"""Static checks of the Docker deployment (no Docker engine runs on the test machines).

deploy/docker-compose.yml: services (redis, two gateways, nginx), published ports, health
checks, restart policies, depends_on conditions; every file or directory it mounts exists in
the repository; deploy/.env.example defines every ${VAR} of the compose file and every
os.environ/NAME of the config it mounts. deploy/Dockerfile and .dockerignore: the expected
shape. nginx/nginx.conf: `nginx -t` accepts it with its upstream include pointing at loopback
servers (a temp copy, temp prefix and pid, a free port), and nginx/upstreams.conf names the
compose gateway services.

Usage: python3 tests/deploy/check_compose.py   (exit 1 with the list of failures)
Env: SWITCHYARD_BIN: when set (or target/{debug,release}/switchyard exists), also runs
`switchyard check-config` on the mounted config with deploy/.env.example's values.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:
    sys.exit("check_compose.py: PyYAML is required (python3 -m pip install pyyaml)")

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(ROOT, "deploy")
COMPOSE = os.path.join(DEPLOY, "docker-compose.yml")
ENV_EXAMPLE = os.path.join(DEPLOY, ".env.example")
NGINX_CONF = os.path.join(ROOT, "nginx", "nginx.conf")
UPSTREAMS = os.path.join(ROOT, "nginx", "upstreams.conf")
DOCKERFILE = os.path.join(DEPLOY, "Dockerfile")
DOCKERIGNORE = os.path.join(ROOT, ".dockerignore")

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


def rel(path):
    return os.path.relpath(path, ROOT)


def as_list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def env_map(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        out = {}
        for item in env:
            k, _, v = str(item).partition("=")
            out[k] = v
        return out
    return {k: ("" if v is None else str(v)) for k, v in env.items()}


def health_test(svc):
    hc = svc.get("healthcheck") or {}
    if hc.get("disable"):
        return ""
    t = hc.get("test")
    if isinstance(t, list):
        return " ".join(str(x) for x in t)
    return str(t or "")


def published(svc):
    """(host_port, container_port) pairs of the short and long port syntaxes."""
    out = []
    for p in as_list(svc.get("ports")):
        if isinstance(p, dict):
            out.append((str(p.get("published", "")), str(p.get("target", ""))))
            continue
        parts = str(p).split("/")[0].split(":")
        if len(parts) == 1:
            out.append(("", parts[0]))
        else:
            out.append((parts[-2], parts[-1]))
    return out


def depends(svc):
    d = svc.get("depends_on") or {}
    if isinstance(d, list):
        return {name: None for name in d}
    return {name: (spec or {}).get("condition") for name, spec in d.items()}


def bind_mounts(svc):
    """Host paths of bind mounts (named volumes skipped), relative to deploy/."""
    out = []
    for v in as_list(svc.get("volumes")):
        if isinstance(v, dict):
            if v.get("type") == "bind":
                out.append(str(v.get("source")))
            continue
        src = str(v).split(":")[0]
        if src.startswith((".", "/", "~")):
            out.append(src)
    return out


def strings(node):
    """Every key and string value of a parsed YAML document (what compose interpolates)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield str(k)
            yield from strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)
    elif isinstance(node, str):
        yield node


def compose_vars(doc):
    """${VAR}, ${VAR:-x}, ${VAR:?x}, $VAR used by compose interpolation ($$ is an escape)."""
    names = set()
    for text in strings(doc):
        text = text.replace("$$", "")
        names |= set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text))
        names |= set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", text))
    return names


def env_file_vars(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            k, _, v = line.partition("=")
            out[k.strip().removeprefix("export ").strip()] = v.strip().strip("'\"")
    return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def check_compose():
    if not check(os.path.isfile(COMPOSE), f"{rel(COMPOSE)} is missing"):
        return [], set(), {}
    with open(COMPOSE) as f:
        text = f.read()
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        check(False, f"{rel(COMPOSE)} is not valid YAML: {e}")
        return [], set(), {}
    services = doc.get("services") or {}
    for name in ("redis", "nginx"):
        check(name in services, f"compose: no '{name}' service")
    gateways = sorted(
        n for n, s in services.items()
        if "switchyard" in str(s.get("image", "")) or "Dockerfile" in str((s.get("build") or {}))
    )
    check(len(gateways) >= 2, f"compose: expected two gateway services (switchyard image), found {gateways}")

    # Every service: health check and restart policy.
    for name, svc in services.items():
        check(health_test(svc).strip() != "", f"compose: service '{name}' has no healthcheck")
        check(svc.get("restart") in ("always", "unless-stopped", "on-failure"),
              f"compose: service '{name}' has no restart policy (restart: {svc.get('restart')!r})")

    # Redis: password, maxmemory + allkeys-lru, health check with redis-cli ping and the password.
    redis = services.get("redis") or {}
    cmd = " ".join(as_list(redis.get("command"))) if isinstance(redis.get("command"), list) else str(redis.get("command", ""))
    check("--requirepass" in cmd and "REDIS_PASSWORD" in cmd, "compose: redis must start with --requirepass ${REDIS_PASSWORD}")
    check("--maxmemory " in cmd + " " and "allkeys-lru" in cmd, "compose: redis needs --maxmemory and --maxmemory-policy allkeys-lru")
    rt = health_test(redis)
    check("redis-cli" in rt and "ping" in rt.lower() and ("-a" in rt or "REDISCLI_AUTH" in str(redis.get("environment"))),
          f"compose: redis health check must be redis-cli ping with the password (got {rt!r})")

    # Gateways: same image, distinct instance ids, Redis host, the config mounted, liveliness check.
    ids = set()
    for g in gateways:
        svc = services[g]
        env = env_map(svc)
        ids.add(env.get("SWITCHYARD_INSTANCE_ID"))
        check(env.get("SWITCHYARD_INSTANCE_ID"), f"compose: {g} has no SWITCHYARD_INSTANCE_ID")
        check(env.get("REDIS_HOST") == "redis", f"compose: {g} should set REDIS_HOST=redis")
        check("/health/liveliness" in health_test(svc), f"compose: {g} health check should GET /health/liveliness")
        check(as_list(svc.get("env_file")), f"compose: {g} has no env_file (.env)")
        args = [str(a) for a in as_list(svc.get("command"))]
        if check("--config" in args, f"compose: {g} command has no --config"):
            target = args[args.index("--config") + 1]
            mounted = [str(v).split(":")[1] for v in as_list(svc.get("volumes")) if isinstance(v, str) and ":" in v]
            check(target in mounted, f"compose: {g} reads {target}, which is not mounted")
        check(depends(svc).get("redis") == "service_healthy",
              f"compose: {g} should depend on redis with condition service_healthy")
    check(len(gateways) < 2 or len(ids) == len(gateways), f"compose: gateway instance ids are not distinct: {ids}")
    images = {str(services[g].get("image")) for g in gateways}
    check(len(images) == 1, f"compose: the gateways should share one image, got {images}")

    # nginx: port 80, the config and its include mounted, after healthy gateways.
    nginx = services.get("nginx") or {}
    check(("80", "80") in published(nginx), f"compose: nginx should publish port 80 (ports: {nginx.get('ports')})")
    nm = [str(v) for v in as_list(nginx.get("volumes"))]
    check(any(v.endswith(":/etc/nginx/nginx.conf:ro") or v.endswith(":/etc/nginx/nginx.conf") for v in nm),
          "compose: nginx should mount ../nginx/nginx.conf as /etc/nginx/nginx.conf")
    check(any("upstreams.conf" in v for v in nm), "compose: nginx should mount nginx/upstreams.conf next to nginx.conf")
    for g in gateways:
        check(depends(nginx).get(g) == "service_healthy",
              f"compose: nginx should depend on {g} with condition service_healthy")

    # Everything mounted or built from exists in the repository.
    for name, svc in services.items():
        for src in bind_mounts(svc):
            path = os.path.normpath(os.path.join(DEPLOY, os.path.expanduser(src)))
            check(os.path.exists(path), f"compose: service '{name}' mounts {src} -> {rel(path)}, which does not exist")
        for ef in as_list(svc.get("env_file")):
            ef = ef.get("path") if isinstance(ef, dict) else ef
            path = os.path.join(DEPLOY, str(ef))
            check(os.path.exists(path) or os.path.exists(path + ".example"),
                  f"compose: service '{name}' env_file {ef}: neither it nor {ef}.example exists in deploy/")
        build = svc.get("build")
        if build:
            ctx = build if isinstance(build, str) else build.get("context", ".")
            ctx_path = os.path.normpath(os.path.join(DEPLOY, ctx))
            check(os.path.isdir(ctx_path), f"compose: {name} build context {ctx} does not exist")
            if isinstance(build, dict) and build.get("dockerfile"):
                df = os.path.join(ctx_path, build["dockerfile"])
                check(os.path.isfile(df), f"compose: {name} dockerfile {rel(df)} does not exist")

    # .env.example defines every variable the compose file interpolates.
    env_example = {}
    if check(os.path.isfile(ENV_EXAMPLE), f"{rel(ENV_EXAMPLE)} is missing"):
        env_example = env_file_vars(ENV_EXAMPLE)
        missing = sorted(compose_vars(doc) - set(env_example))
        check(not missing, f"{rel(ENV_EXAMPLE)} does not define {missing}, used in {rel(COMPOSE)}")

    # ... and every os.environ/NAME of the config the gateways mount.
    configs = set()
    for g in gateways:
        for v in as_list(services[g].get("volumes")):
            src = str(v).split(":")[0]
            if src.endswith((".yaml", ".yml")):
                configs.add(os.path.normpath(os.path.join(DEPLOY, src)))
    for cfg in sorted(configs):
        if os.path.isfile(cfg):
            with open(cfg) as f:
                needed = set(re.findall(r"os\.environ/([A-Za-z_][A-Za-z0-9_]*)", f.read()))
            missing = sorted(needed - set(env_example))
            check(not missing, f"{rel(ENV_EXAMPLE)} does not define {missing}, needed by {rel(cfg)}")
    return gateways, configs, env_example


def check_dockerfile():
    if not check(os.path.isfile(DOCKERFILE), f"{rel(DOCKERFILE)} is missing"):
        return
    with open(DOCKERFILE) as f:
        text = f.read()
    froms = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.M | re.I)
    check(len(froms) >= 2, "Dockerfile: expected a multi-stage build (builder + runtime)")
    check("musl" in text or any("alpine" in f[0] for f in froms[:-1]),
          "Dockerfile: the builder should produce a static musl binary")
    # The builder's Rust must be at least the workspace's rust-version (the dependencies' MSRV),
    # or the image does not build.
    with open(os.path.join(ROOT, "Cargo.toml")) as f:
        msrv = re.search(r'^rust-version\s*=\s*"(\d+)\.(\d+)', f.read(), re.M)
    rust_image = next((m for m in (re.match(r"rust:(\d+)\.(\d+)", f[0]) for f in froms) if m), None)
    if check(msrv is not None and rust_image is not None, "Dockerfile: the builder should be a rust:X.Y image"):
        have = (int(rust_image.group(1)), int(rust_image.group(2)))
        need = (int(msrv.group(1)), int(msrv.group(2)))
        check(have >= need, f"Dockerfile: rust:{have[0]}.{have[1]} is older than Cargo.toml's rust-version {need[0]}.{need[1]}")
    # Every workspace member (and .cargo's build settings) must reach the builder, or cargo
    # cannot load the workspace.
    with open(os.path.join(ROOT, "Cargo.toml")) as f:
        members = re.search(r'^members\s*=\s*\[([^\]]*)\]', f.read(), re.M)
    for member in re.findall(r'"([^"]+)"', members.group(1) if members else ""):
        if member != ".":
            check(re.search(rf"^COPY\s+{re.escape(member)}\s", text, re.M),
                  f"Dockerfile: workspace member {member} is not copied into the builder")
    check(re.search(r"^COPY\s+\.cargo\s", text, re.M), "Dockerfile: .cargo (build settings) is not copied")
    final = froms[-1][0] if froms else ""
    final_part = text[text.rfind("\nFROM "):] if "\nFROM " in text else text
    check(re.search(r"^USER\s+(?!root\b|0\b)\S+", final_part, re.M), "Dockerfile: the final stage should run as a non-root USER")
    check(re.search(r"^EXPOSE\s+4000\b", final_part, re.M), "Dockerfile: EXPOSE 4000")
    check(re.search(r'^ENTRYPOINT\s+\["?switchyard', final_part, re.M), "Dockerfile: ENTRYPOINT switchyard")
    if re.search(r"^HEALTHCHECK", final_part, re.M) and "wget" in final_part:
        check("alpine" in final or "busybox" in final,
              f"Dockerfile: HEALTHCHECK uses wget but the final image ({final}) may not have it")
    if check(os.path.isfile(DOCKERIGNORE), ".dockerignore is missing at the repository root"):
        with open(DOCKERIGNORE) as f:
            ign = {line.strip().rstrip("/") for line in f if line.strip() and not line.startswith("#")}
        check({"target", ".git"} <= ign, ".dockerignore should exclude target/ and .git")


def check_upstreams(gateways, services_port="4000"):
    if not check(os.path.isfile(UPSTREAMS), f"{rel(UPSTREAMS)} is missing"):
        return
    with open(UPSTREAMS) as f:
        servers = re.findall(r"^\s*server\s+(\S+)", f.read(), re.M)
    want = {f"{g}:{services_port}" for g in gateways}
    check(want <= set(servers), f"nginx/upstreams.conf should list the compose gateways {sorted(want)}, has {servers}")


def check_nginx():
    nginx = shutil.which("nginx")
    if not nginx:
        msg = "nginx is not installed: nginx -t of nginx/nginx.conf not run"
        if os.environ.get("CI") == "true":
            check(False, msg + " (CI=true: required)")
        else:
            print(f"\n*** SKIP: {msg} ***\n", file=sys.stderr)
        return
    with open(NGINX_CONF) as f:
        conf = f.read()
    for directive in ("least_conn", "keepalive ", "proxy_next_upstream error timeout", "proxy_buffering off",
                      "proxy_http_version 1.1", "client_max_body_size 32m", "include upstreams.conf",
                      "location /health"):
        check(directive in conf, f"nginx.conf: no '{directive}'")
    directives = re.sub(r"#.*", "", conf)
    check(re.search(r"proxy_next_upstream\s+error\s+timeout;", directives) is not None,
          "nginx.conf: unreachable instances must fail over (proxy_next_upstream error timeout)")
    check("non_idempotent" not in directives,
          "nginx.conf: a POST already sent to an instance that died must not be replayed to the next (no non_idempotent)")
    check("proxy_request_buffering off" not in directives,
          "nginx.conf: request bodies must be buffered to be resent to the next instance")
    with tempfile.TemporaryDirectory(prefix="switchyard-nginx-") as tmp:
        port = free_port()
        temp_paths = "".join(f"    {d}_temp_path {tmp}/{d};\n" for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        adapted = conf.replace("listen 80 default_server;", f"listen 127.0.0.1:{port} default_server;")
        adapted = adapted.replace("access_log /var/log/nginx/access.log", f"access_log {tmp}/access.log")
        adapted = re.sub(r"^http \{\n", "http {\n" + temp_paths, adapted, count=1, flags=re.M)
        check(f"listen 127.0.0.1:{port}" in adapted, "nginx.conf: expected 'listen 80 default_server;' in the server block")
        with open(os.path.join(tmp, "nginx.conf"), "w") as f:
            f.write(adapted)
        with open(os.path.join(tmp, "upstreams.conf"), "w") as f:
            f.write("server 127.0.0.1:4000 max_fails=3 fail_timeout=30s;\n"
                    "server 127.0.0.1:4001 max_fails=3 fail_timeout=30s;\n")
        r = subprocess.run([nginx, "-t", "-p", tmp + "/", "-c", os.path.join(tmp, "nginx.conf"),
                            "-e", os.path.join(tmp, "error.log"), "-g", f"pid {tmp}/nginx.pid;"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, f"nginx -t rejects nginx/nginx.conf (upstreams on loopback): {r.stderr.strip()}")
        if r.returncode == 0:
            print("check_compose: nginx -t accepts nginx/nginx.conf with loopback upstreams")


def check_config_with_example(configs, env_example):
    binary = os.environ.get("SWITCHYARD_BIN")
    if not binary:
        for cand in ("target/debug/switchyard", "target/release/switchyard"):
            if os.access(os.path.join(ROOT, cand), os.X_OK):
                binary = os.path.join(ROOT, cand)
                break
    if not binary:
        print("check_compose: no switchyard binary: check-config of the mounted config not run", file=sys.stderr)
        return
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env_example}
    for cfg in sorted(configs):
        r = subprocess.run([binary, "check-config", cfg], capture_output=True, text=True, env=env, timeout=60)
        check(r.returncode == 0,
              f"switchyard check-config {rel(cfg)} with deploy/.env.example's values fails: {(r.stdout + r.stderr).strip()[:500]}")


def main():
    gateways, configs, env_example = check_compose()
    check_dockerfile()
    check_upstreams(gateways)
    check_nginx()
    if configs:
        check_config_with_example(configs, env_example)
    if failures:
        print("check_compose: FAILED", file=sys.stderr)
        for msg in failures:
            print(f"  - {msg}", file=sys.stderr)
        sys.exit(1)
    print(f"check_compose: OK (services: redis, {', '.join(gateways)}, nginx; mounts, health checks, "
          f"restart policies, depends_on, .env.example, Dockerfile, nginx -t)")


if __name__ == "__main__":
    main()
