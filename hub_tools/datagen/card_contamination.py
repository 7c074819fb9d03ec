"""What a dataset card says about benchmark contamination, read from ``lintseq_config.json``: each config's
recorded overlap, which config the card states first, and which configs were made with other benchmark
settings (a folder with a config not measured beside one whose overlapping rows were dropped says so, config
by config, instead of "the dataset holds none of them").
"""

from __future__ import annotations


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def contamination_view(value) -> dict | None:
    """The recorded benchmark overlap, with the tasks it hit listed once each (at most 20, most rows first)."""
    value = _dict(value)
    if not isinstance(value.get("rows"), int) or not value.get("benchmarks"):
        return None
    overlaps = [entry for entry in value.get("overlaps") or [] if isinstance(entry, dict)]
    by_task = [entry for entry in value.get("by_task") or [] if isinstance(entry, dict)]
    if by_task:
        tasks = [{"id": f"{entry.get('task_id')}", "rows": entry.get("rows")} for entry in by_task]
    else:  # recorded before the per-task counts: the tasks of the rows listed
        tasks = [{"id": task, "rows": None} for task in dict.fromkeys(f"{entry.get('task_id')}" for entry in overlaps)]
    not_compared = [f"{entry.get('task_id')}" for entry in value.get("not_compared") or [] if isinstance(entry, dict)]
    return {**value, "task_ids": tasks[:20], "more_tasks": max(0, (value.get("tasks") or 0) - len(tasks[:20])),
            "rows_listed": len(overlaps), "not_compared": not_compared}


def headline_contamination(configs: list[dict], default: str) -> str | None:
    """The config whose overlap the card states first: the default one (what ``load_dataset`` returns), else
    the first measured one."""
    measured = [config["name"] for config in configs if config["contamination"]]
    return default if default in measured else next(iter(measured), None)


def contamination_by_config(dataset, configs: list[dict]) -> list[dict] | None:
    """What each config's rows say about the benchmarks, when the configs do not all say the same (configs
    made by runs with other benchmark settings: one not measured, one whose overlapping rows were kept)."""
    states = []
    for config in configs:
        view = config["contamination"]
        if view is None:
            state = ("not measured (`--contamination-benchmarks none`)"
                     if not_measured(dataset.config_settings(config["name"])) else "not recorded")
        elif not view.get("rows"):
            state = "no overlap"
        else:
            state = f"{view['rows']} overlapping rows {'dropped' if view.get('drop') else 'kept'}"
        states.append({"name": config["name"], "state": state,
                       "clean": state == "no overlap" or state.endswith("dropped")})
    return states if len({entry["state"] for entry in states}) > 1 else None


def not_measured(settings: dict) -> bool:
    """Whether the run was told to measure no benchmark overlap (``--contamination-benchmarks none``)."""
    return "decontamination" in settings and not settings["decontamination"]
