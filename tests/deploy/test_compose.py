"""docker-compose.yaml, Dockerfile, .dockerignore and .env.example, checked without a Docker engine.

- The compose file validates against the Compose specification (check-jsonschema's vendored
  ``compose-spec`` schema: offline), and with ``docker compose config`` where the Compose plugin
  is installed.
- Every service, image and environment variable in it is one that Airflow 3.x's own
  docker-compose.yaml uses (the lists below were copied from it:
  airflow-core/docs/howto/docker-compose/docker-compose.yaml) or one that docs/DEPLOYING.md and
  .env.example explain.
- .env.example commits no secret; .env stays out of git and out of the image.
- The Dockerfile builds on the apache/airflow release and Python of uv.lock, and installs the
  locked requirements with the uv version of the Makefile; the export it runs works on uv.lock.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from deploy_support import ROOT

COMPOSE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = ROOT / ".env.example"
DEPLOYING = ROOT / "docs" / "DEPLOYING.md"

# -- what Airflow 3.x's docker-compose.yaml uses ----------------------------------------------------
AIRFLOW_SERVICES = {
    "postgres", "redis", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-worker",
    "airflow-triggerer", "airflow-init", "airflow-cli", "flower",
}
AIRFLOW_IMAGES = {"postgres:16", "redis:7.2-bookworm"}
AIRFLOW_CONTAINER_ENV = {
    "AIRFLOW__CORE__EXECUTOR", "AIRFLOW__CORE__AUTH_MANAGER", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CELERY__RESULT_BACKEND", "AIRFLOW__CELERY__BROKER_URL", "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "AIRFLOW__CORE__LOAD_EXAMPLES",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK", "_PIP_ADDITIONAL_REQUIREMENTS", "AIRFLOW_CONFIG", "DUMB_INIT_SETSID",
    "_AIRFLOW_DB_MIGRATE", "_AIRFLOW_WWW_USER_CREATE", "_AIRFLOW_WWW_USER_USERNAME", "_AIRFLOW_WWW_USER_PASSWORD",
    "CONNECTION_CHECK_MAX_COUNT", "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB",
}
AIRFLOW_INTERPOLATED = {
    "AIRFLOW_IMAGE_NAME", "AIRFLOW_UID", "AIRFLOW_PROJ_DIR", "ENV_FILE_PATH", "FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET", "_AIRFLOW_WWW_USER_USERNAME", "_AIRFLOW_WWW_USER_PASSWORD",
    "_PIP_ADDITIONAL_REQUIREMENTS",
}
# Local-development defaults that may appear in committed files (Airflow's file uses airflow/airflow).
DEV_DEFAULTS = {"", "airflow", "ugc", "ugc_analyst"}
# The project's services beside Airflow's: the warehouse, and the static-file server of the artifacts.
PROJECT_SERVICES = {"warehouse", "artifacts"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|_KEY$")

INTERPOLATION = re.compile(r"\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|[A-Za-z_][A-Za-z0-9_]*)?")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def documented() -> str:
    return DEPLOYING.read_text()


def env_example() -> dict[str, str]:
    """Every variable of .env.example, set or shown commented out (``# NAME=value``)."""
    out = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        m = re.match(r"^#?\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line.strip())
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def interpolated_names() -> set[str]:
    return {m.group(2) for m in INTERPOLATION.finditer(COMPOSE.read_text()) if m.group(2)}


def container_env(compose: dict) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for name, service in compose["services"].items():
        env = service.get("environment") or {}
        keys = env.keys() if isinstance(env, dict) else (item.split("=", 1)[0] for item in env)
        for key in keys:
            out.setdefault(key, set()).add(name)
    return out


def _is_documented(name: str, text: str) -> bool:
    return re.search(rf"`[^`]*\b{re.escape(name)}\b[^`]*`", text) is not None


# -- validity ---------------------------------------------------------------------------------------

def _check_jsonschema(path: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("check-jsonschema")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "check_jsonschema"]
    return subprocess.run([*cmd, "--builtin-schema", "vendor.compose-spec", str(path)],
                          capture_output=True, text=True, timeout=120)


def test_compose_file_follows_the_compose_specification():
    done = _check_jsonschema(COMPOSE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_does_reject_a_broken_compose_file(tmp_path):
    data = yaml.safe_load(COMPOSE.read_text())
    data["services"]["redis"]["replicas_typo"] = 2
    broken = tmp_path / "docker-compose.yaml"
    broken.write_text(yaml.safe_dump(data))
    done = _check_jsonschema(broken)
    assert done.returncode != 0
    assert "replicas_typo" in done.stdout + done.stderr


def test_docker_compose_config_accepts_the_file(tmp_path):
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("the Docker Compose plugin is not installed here (`docker compose version` fails); "
                    "the compose-spec schema check above still ran")
    env = tmp_path / "env"
    env.write_text(ENV_EXAMPLE.read_text().replace("AIRFLOW__API_AUTH__JWT_SECRET=",
                                                   "AIRFLOW__API_AUTH__JWT_SECRET=test-only"))
    done = subprocess.run([docker, "compose", "--project-directory", str(ROOT), "--env-file", str(env),
                           "-f", str(COMPOSE), "config", "--quiet"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_every_interpolation_is_well_formed():
    text = COMPOSE.read_text()
    for m in INTERPOLATION.finditer(text):
        token = m.group(0)
        line = text.count("\n", 0, m.start()) + 1
        assert token != "$", f"line {line}: a lone '$' (write '$$' for a literal dollar)"
        if token.startswith("${"):
            assert m.group(2), f"line {line}: malformed {token}"
        elif token != "$$":
            pytest.fail(f"line {line}: {token}: write ${{NAME}} (or $$ for the shell inside the container)")


# -- services, images, variables: Airflow's or documented ----------------------------------------

def test_services_are_airflows_plus_the_documented_warehouse(compose, documented):
    services = set(compose["services"])
    assert AIRFLOW_SERVICES - {"airflow-cli", "flower"} <= services, "a service of Airflow's compose file is missing"
    extra = services - AIRFLOW_SERVICES
    assert extra == PROJECT_SERVICES
    for name in extra:
        assert _is_documented(name, documented), f"service {name} is not explained in docs/DEPLOYING.md"


def test_images_are_airflows_or_built_from_the_dockerfile(compose):
    common = compose["x-airflow-common"]
    assert common.get("build") == ".", "the Airflow services must build the project's Dockerfile"
    for name, service in compose["services"].items():
        image = service.get("image")
        if name.startswith("airflow-") or name in ("flower", "artifacts"):
            assert service.get("build") == "." and image == common["image"], name
        else:
            assert image in AIRFLOW_IMAGES, f"{name}: image {image} is not one Airflow's compose file uses"


def test_container_variables_are_airflows_or_documented(compose, documented):
    env_doc = env_example()
    for name, services in container_env(compose).items():
        if name in AIRFLOW_CONTAINER_ENV:
            continue
        assert _is_documented(name, documented), f"{name} (set in {sorted(services)}) is not explained in docs/DEPLOYING.md"
        if name.startswith("UGC_"):
            assert name in env_doc, f"{name} is not in .env.example"


def test_interpolated_variables_are_airflows_or_in_env_example(documented):
    env_doc = env_example()
    for name in interpolated_names():
        if name in AIRFLOW_INTERPOLATED:
            continue
        assert name in env_doc, f"${{{name}}} is read by docker-compose.yaml but not listed in .env.example"
        assert _is_documented(name, documented), f"{name} is not explained in docs/DEPLOYING.md"


def test_env_example_lists_every_variable_the_compose_file_reads():
    missing = {n for n in interpolated_names() if n not in env_example()} - {"ENV_FILE_PATH",
                                                                             "_PIP_ADDITIONAL_REQUIREMENTS"}
    assert not missing, f".env.example does not list {sorted(missing)}"


def test_every_env_example_variable_is_explained(documented):
    for name in env_example():
        assert _is_documented(name, documented), f".env.example's {name} is not explained in docs/DEPLOYING.md"


# -- secrets ----------------------------------------------------------------------------------------

def test_env_example_holds_no_secret():
    for name, value in env_example().items():
        if SECRET_NAME.search(name) and not name.endswith("_KEY_ID"):
            assert value in DEV_DEFAULTS, f".env.example gives {name} a value: leave secrets empty"
        for _user, password in re.findall(r"://([^:/@\s]+):([^@/\s]+)@", value):
            assert password in DEV_DEFAULTS, f".env.example's {name} embeds a password"


def test_compose_file_holds_no_secret_and_requires_the_jwt_secret():
    text = COMPOSE.read_text()
    for password in re.findall(r"://[^:/@\s]*:([^@/\s]*)@", text):
        if "${" in password:  # an interpolation (${WAREHOUSE_PASSWORD:-ugc}): its default is checked below
            continue
        assert password in DEV_DEFAULTS, f"a URL in docker-compose.yaml embeds the password {password!r}"
    for m in re.finditer(r"^\s*[A-Z_]*(PASSWORD|SECRET|FERNET_KEY)[A-Z_]*:\s*(\S.*)", text, re.M):
        value = m.group(2).strip().strip("'\"")
        literal = re.sub(r"\$\{[^}]*\}", "", value)
        assert literal in DEV_DEFAULTS, f"docker-compose.yaml sets {m.group(0)!r}"
    for m in INTERPOLATION.finditer(text):
        if m.group(2) and SECRET_NAME.search(m.group(2)) and m.group(3) in ("-", ":-"):
            assert m.group(4) in DEV_DEFAULTS, f"{m.group(0)}: a secret with a default value"
    jwt = re.search(r"AIRFLOW__API_AUTH__JWT_SECRET:\s*\"?\$\{AIRFLOW__API_AUTH__JWT_SECRET:\?", text)
    assert jwt, "the JWT secret must have no default (${AIRFLOW__API_AUTH__JWT_SECRET:?...})"


def test_dot_env_stays_out_of_git_and_out_of_the_image():
    if shutil.which("git") and (ROOT / ".git").exists():
        assert subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", ".env"]).returncode == 0, \
            ".env must be git-ignored"
    lines = [line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert lines[0] == "*", ".dockerignore must exclude everything, then let in what the Dockerfile copies"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert not any(a.startswith(".env") or a in ("data", "logs", "config", ".airflow", ".venv") for a in allowed)
    copied = set()
    for m in re.finditer(r"^COPY (?!--from)(?:--\S+ )*(.+) \S+$", DOCKERFILE.read_text(), re.M):
        copied |= {src.rstrip("/") for src in m.group(1).split()}
    assert copied and copied <= allowed, f"the Dockerfile copies {sorted(copied - allowed)}, which .dockerignore keeps out"


# -- the project in the containers ------------------------------------------------------------------

def test_project_folders_are_mounted_and_settings_point_at_shared_services(compose):
    common = compose["x-airflow-common"]
    targets = {re.sub(r":(ro|rw)$", "", v).rsplit(":", 1)[1] for v in common["volumes"]}
    for folder in ("dags", "plugins", "include", "sql", "config", "logs"):
        assert f"/opt/airflow/{folder}" in targets, f"{folder}/ is not mounted"
    env = common["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    # the warehouse is the Airflow connection ugc_warehouse, not a URL setting of our own
    assert "UGC_WAREHOUSE_URL" not in env
    url = env["AIRFLOW_CONN_UGC_WAREHOUSE"]
    assert url.startswith("${AIRFLOW_CONN_UGC_WAREHOUSE:-postgres://") and "@warehouse:5432/" in url, \
        "Celery workers need a server warehouse (DuckDB allows one writing process): the warehouse service"
    warehouse, metadata = compose["services"]["warehouse"], compose["services"]["postgres"]
    assert warehouse["volumes"] != metadata["volumes"], "the warehouse must not share the metadata DB's storage"
    assert "warehouse" in compose["services"]["airflow-worker"]["depends_on"]
    assert "ugc_warehouse" in " ".join(compose["services"]["airflow-init"]["command"]), \
        "airflow-init must create the pool the DAGs' tasks take"
    for port in warehouse.get("ports", []):
        assert port.startswith("127.0.0.1:"), "the warehouse must not be published beyond this machine"


def test_dockerfile_builds_on_the_locked_airflow_and_python():
    text = DOCKERFILE.read_text()
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    airflow_version = next(p["version"] for p in lock["package"] if p["name"] == "apache-airflow")
    requires_python = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    m = re.search(r"^ARG AIRFLOW_IMAGE=apache/airflow:(\S+)-python(3\.\d+)$", text, re.M)
    assert m, "the Dockerfile must build on an apache/airflow:<version>-python<X.Y> image"
    assert m.group(1) == airflow_version, f"image {m.group(1)} but uv.lock pins apache-airflow {airflow_version}"
    low = re.search(r">=\s*(3\.\d+)", requires_python).group(1)
    high = re.search(r"<\s*(3\.\d+)", requires_python)
    minor = int(m.group(2).split(".")[1])
    assert minor >= int(low.split(".")[1]) and (not high or minor < int(high.group(1).split(".")[1])), \
        f"python{m.group(2)} is outside requires-python {requires_python}"
    assert re.findall(r"^FROM \$\{AIRFLOW_IMAGE\}", text, re.M), "every stage builds on ${AIRFLOW_IMAGE}"


def test_dockerfile_installs_the_locked_requirements_with_the_makefiles_uv():
    text = DOCKERFILE.read_text()
    make_uv = re.search(r"^UV_VERSION\s*:?=\s*(\S+)", (ROOT / "Makefile").read_text(), re.M).group(1)
    docker_uv = re.search(r"^ARG UV_VERSION=(\S+)$", text, re.M).group(1)
    assert docker_uv == make_uv
    assert "uv export --frozen --no-dev" in text
    assert re.search(r"uv pip install .*-r /opt/ugc/requirements\.txt", text)
    assert re.search(r"uv pip install .*--no-deps --editable /opt/airflow", text)


def test_the_requirements_export_of_the_dockerfile_works_on_uv_lock():
    uv = ROOT / ".tools" / "bin" / "uv"
    if not uv.exists():
        pytest.skip("uv is not installed in .tools/ (make install)")
    args = re.search(r"uv (export [^\n]*?) --output-file", DOCKERFILE.read_text()).group(1).split()
    done = subprocess.run([str(uv), *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [line.split(";")[0].strip() for line in done.stdout.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+(\[[^\]]+\])?==\S+", line) for line in lines), \
        [line for line in lines if "==" not in line]
    pins = dict(line.split("==") for line in lines)
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    locked = {p["name"]: p["version"] for p in lock["package"]}
    assert pins["apache-airflow"] == locked["apache-airflow"]
    assert all(locked.get(name.lower()) == version for name, version in pins.items()), "export differs from uv.lock"
    assert "ugc-kpi-pipeline" not in pins and "pytest" not in pins, "the project and dev tools are not requirements"


# -- issue 12: artifacts on a shared volume, the user's uid, no chown of source, checked deps, roles --

def test_published_artifacts_are_on_a_named_volume_served_read_only(compose, documented):
    """GX Data Docs, dbt docs and the report: one named volume mounted by every Airflow container
    (scaled workers write the same place, nothing is lost with a container) and served read-only,
    on 127.0.0.1, by the static-file service."""
    common = compose["x-airflow-common"]
    env, volumes = common["environment"], common["volumes"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in volumes}
    for name in ("UGC_GX_DIR", "UGC_DBT_DIR", "UGC_REPORT_DIR"):
        folder = env[name]
        mount = next((target for target in mounts if folder.startswith(target + "/")), None)
        assert mount, f"{name}={folder} is not on a mounted volume"
        source = mounts[mount]
        assert source in compose["volumes"], f"{name}: {source} is not a named volume"
        assert name in env_example(), f"{name} is not in .env.example"
    served = compose["services"]["artifacts"]
    assert served["volumes"] == [f"{source}:{mount}:ro"], "the artifacts service serves the same volume, read-only"
    assert mount in " ".join(served["entrypoint"])
    assert all(p.startswith("127.0.0.1:") for p in served["ports"])
    assert _is_documented("artifacts", documented)


def test_the_airflow_uid_is_the_users_and_no_source_folder_is_chowned(compose, documented):
    for name, service in {"x-airflow-common": compose["x-airflow-common"], **compose["services"]}.items():
        user = str(service.get("user", ""))
        if "AIRFLOW_UID" in user:
            assert user.startswith("${AIRFLOW_UID:?"), f"{name}: AIRFLOW_UID must come from the user (no default)"
    assert not re.search(r"^AIRFLOW_UID=", ENV_EXAMPLE.read_text(), re.M), ".env.example must not set a uid"
    assert 'echo "AIRFLOW_UID=$(id -u)" > .env' in documented
    init = " ".join(compose["services"]["airflow-init"]["command"])
    for chown in re.findall(r"chown[^\n]*", init):
        assert "/opt/airflow/ " not in chown + " " and not chown.rstrip().endswith("/opt/airflow/"), chown
        for source in ("dags", "include", "sql", "plugins", "landing"):
            assert source not in chown, f"airflow-init changes the owner of the mounted {source}/: {chown}"


def test_the_dockerfile_checks_the_installed_dependencies():
    text = DOCKERFILE.read_text()
    install = re.search(r"uv pip install [^\n]*-r /opt/ugc/requirements\.txt", text)
    check = re.search(r"^\s*(RUN|&&) uv pip check\s*$", text, re.M)
    assert install and check and check.start() > install.start(), "`uv pip check` after the locked requirements"


def test_the_locked_requirements_are_consistent():
    """What `uv pip check` in the Dockerfile checks in the image, checked on the project's .venv."""
    uv = ROOT / ".tools" / "bin" / "uv"
    if not uv.exists():
        pytest.skip("uv is not installed in .tools/ (make install)")
    done = subprocess.run([str(uv), "pip", "check", "--python", sys.executable], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_init_job_creates_the_analyst_role_on_the_warehouse(compose):
    init = compose["services"]["airflow-init"]
    assert "python -m ugc_pipeline.roles" in " ".join(init["command"])
    assert init["depends_on"]["warehouse"]["condition"] == "service_healthy"
    env = env_example()
    assert env["WAREHOUSE_ANALYST_USER"] and "WAREHOUSE_ANALYST_PASSWORD" in env
