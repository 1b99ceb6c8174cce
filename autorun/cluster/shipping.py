"""The client side of what travels: each item's files, arguments and configuration, planned and checked
before any session starts, and turned into a :class:`~autorun.cluster.spec.SessionSpec` when submitted.

Arguments that name a file of this machine (``--config``, ``--context``, ``--model replay:``) are
rewritten to name the worker's copy; ``--config`` is dropped altogether, because the effective
configuration itself travels (every layer of it: files, ``AUTORUN_*`` variables, flags).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autorun import __version__
from autorun.batch.runner import BatchItem
from autorun.cluster.spec import Arg, InputFile, InputRef, SessionSpec
from autorun.config.model_choice import REPLAY_PREFIX, ModelChoice, ModelKind
from autorun.config.schema import ClusterConfig, Config
from autorun.datafile import check_data_file
from autorun.errors import ConfigError, InputFileError
from autorun.units import human_size

_CONFIG_OPTIONS = ("--config", "-c")
_CONTEXT_OPTION = "--context"
_MODEL_OPTIONS = ("--model", "-m")


@dataclass(frozen=True)
class Shipping:
    """What every session of a run shares: the settings, the configuration, what is sent of the environment."""

    cluster: ClusterConfig
    config: dict[str, Any]  # the effective configuration as the worker's session loads it
    env: dict[str, str]  # the variables of cluster.env_passthrough that are set here
    value_options: Collection[str]  # the options that take the next argument as their value
    keep_events: bool = False


def shipping_for(
    config: Config, env: Mapping[str, str], value_options: Collection[str], *, keep_events: bool
) -> Shipping:
    """A worker runs ``auto`` as the sandbox: a worker without bwrap fails the session saying so, rather
    than running code unsandboxed on a machine nobody watches. A transcript to replay must be one this
    machine recorded (ConfigError otherwise), exactly as for a session run here."""
    from autorun.config.show import redacted_config_dict
    from autorun.session.components import replay_transcript

    if config.model.choice.kind is ModelKind.REPLAY:
        replay_transcript(config, env)

    shipped = {section: body for section, body in redacted_config_dict(config).items() if section != "cluster"}
    if shipped["executor"]["type"] == "auto":
        shipped["executor"]["type"] = "sandbox"
    sent = {name: env[name] for name in config.cluster.env_passthrough if name in env}
    return Shipping(config.cluster, shipped, sent, frozenset(value_options), keep_events)


@dataclass
class Shipment:
    """One item's session as planned here: its inputs (the data file first), arguments and layout."""

    item: BatchItem
    root: Path  # the folder holding the item's work dir and report, mirrored on the worker
    inputs: list[Path] = field(default_factory=list)
    shared: list[bool] = field(default_factory=list)
    replayed: set[Path] = field(default_factory=set)  # transcripts to replay: recorded as such on the worker
    args: list[Arg] = field(default_factory=list)
    config_inputs: dict[str, InputRef] = field(default_factory=dict)
    problem: str = ""  # a file that cannot be sent: the session fails with this, unsent

    def add(self, path: str, prefix: str = "") -> InputRef:
        """The reference to input ``path`` (each file is sent once however often it is named)."""
        target = Path(path).expanduser()
        target = target if target.is_absolute() else Path.cwd() / target
        if target not in self.inputs:
            self.inputs.append(target)
        if prefix.endswith(REPLAY_PREFIX):
            self.replayed.add(target)
        return InputRef(self.inputs.index(target), prefix)


def _rewrite(tokens: Sequence[str], value_options: Collection[str], add: Callable[[str, str], InputRef]) -> list[Arg]:
    """``tokens`` with every file they name replaced by its input (and --config left out)."""
    args: list[Arg] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        name, eq, inline = token.partition("=") if token.startswith("--") else (token, "", "")
        takes_next = not eq and name in value_options and i + 1 < len(tokens)
        value = inline if eq else tokens[i + 1] if takes_next else None
        i += 2 if takes_next else 1
        if value is None:
            args.append(token)
        elif name in _CONFIG_OPTIONS:
            continue
        elif name == _CONTEXT_OPTION:
            args.append(add(value, f"{_CONTEXT_OPTION}="))
        elif name in _MODEL_OPTIONS and (chosen := ModelChoice.parse(value)).kind is ModelKind.REPLAY:
            args.append(add(chosen.value, f"{_MODEL_OPTIONS[0]}={REPLAY_PREFIX}"))
        else:
            args += [token] if eq else [name, value]
    return args


def _under(path: Path, folders: Sequence[str]) -> bool:
    real = Path(os.path.realpath(path))
    return any(real.is_relative_to(os.path.realpath(Path(folder).expanduser())) for folder in folders)


def plan(item: BatchItem, child_args: Sequence[str], shipping: Shipping) -> Shipment:
    """Which files ``item``'s session needs and how each travels; ConfigError for a file too big to send."""
    root = Path(os.path.commonpath([item.work_dir.parent.resolve(), item.report.parent.resolve()]))
    shipment = Shipment(item, root)
    shipment.add(str(item.file))
    shipment.args = _rewrite([*child_args, *item.args], shipping.value_options, shipment.add)
    chosen = ModelChoice.parse(str(shipping.config["model"]["name"]))
    if chosen.kind is ModelKind.REPLAY:
        shipment.config_inputs["model.name"] = shipment.add(chosen.value, REPLAY_PREFIX)
    limit = shipping.cluster.max_file_size
    for path in shipment.inputs:
        shared = _under(path, shipping.cluster.shared_dirs) and path not in shipment.replayed
        shipment.shared.append(shared)
        if shared:
            continue
        if path == shipment.inputs[0]:
            try:
                check_data_file(path)
            except InputFileError as exc:
                shipment.problem = shipment.problem or str(exc)
                continue
        try:
            size = path.stat().st_size
        except OSError as exc:
            shipment.problem = shipment.problem or f"cannot read {path}: {exc.strerror}"
            continue
        if path.is_dir():
            shipment.problem = shipment.problem or f"{path} is a folder; give a file"
        elif size > limit:
            raise ConfigError(
                f"{path} is {human_size(size)}, more than the {limit} that cluster.max_file_size sends to a "
                "worker: put it in a folder every worker reads at the same path and name that folder in "
                "cluster.shared_dirs (or raise cluster.max_file_size)"
            )
    return shipment


def session_spec(shipment: Shipment, shipping: Shipping, *, key: str, topic: str, control: str) -> SessionSpec:
    """The spec to submit: reads the files to send now (OSError when one went away since planning)."""
    inputs = tuple(
        InputFile(path.name, shared_path=str(path))
        if shared
        else InputFile(path.name, data=path.read_bytes(), recorded=path in shipment.replayed)
        for path, shared in zip(shipment.inputs, shipment.shared, strict=True)
    )
    return SessionSpec(
        key=key,
        topic=topic,
        control=control,
        version=__version__,
        inputs=inputs,
        data=0,
        args=tuple(shipment.args),
        config=shipping.config,
        config_inputs=dict(shipment.config_inputs),
        env=dict(shipping.env),
        work_rel=shipment.item.work_dir.resolve().relative_to(shipment.root).as_posix(),
        report_rel=shipment.item.report.resolve().relative_to(shipment.root).as_posix(),
        max_result_size=int(shipping.cluster.max_result_size),
        keep_events=shipping.keep_events,
    )
