"""A study's results, read from its members' own records (never typed in): one row per member, means
with 95% intervals, and plain sentences from paired tests over seeds."""

from __future__ import annotations

from dae_core.studies.store import Study


def results(study: Study):
    """One row per completed member: key, arm, its settings, seed, preset, test figures, run id."""
    import pandas as pd

    rows = []
    design = study.design()
    for member in design.members:
        run = study.run_of(member.key)
        status = run.status() if run else {}
        if status.get("state") != "completed" or member.arm == "pretrain":
            continue
        test = status.get("test", {})
        rows.append({"key": member.key, "arm": member.arm, **member.setting, "seed": member.seed,
                     "preset": run.config().get("preset"), **{k: v for k, v in test.items() if isinstance(v, (int, float))}, "run": run.id})
    return pd.DataFrame(rows)


# Pairs worth testing, and what each pair asks, in plain words.
QUESTIONS = (("task3", "task2", "does Task 3 beat Task 2?"),
             ("mnist-ae", "scratch", "does the MNIST encoder beat a CNN from scratch?"),
             ("random-init", "scratch", "does the Task 3 architecture alone beat the Task 2 CNN?"),
             ("mnist-ae", "random-init", "does MNIST pretraining beat the same model from random weights?"),
             ("fashion-ae", "random-init", "does in-domain pretraining (no labels) beat random weights?"))


def summary(table, axis: str | None = None, value: str = "accuracy"):
    """Mean and 95% interval of ``value`` per arm (and ``axis`` setting, e.g. labels)."""
    from dae_core.analysis import stats

    return stats.summarise(table, ["arm"] + ([axis] if axis else []), value)


def findings(table, axis: str | None = None, value: str = "accuracy") -> list[str]:
    """Sentences on each question the study's arms can answer, per axis setting, from paired
    tests over seeds (a member without its pair at the same seed is left out)."""
    from dae_core.analysis import stats

    sentences = []
    groups = table.groupby(axis) if axis else [(None, table)]
    for a, b, question in QUESTIONS:
        if not {a, b} <= set(table.get("arm", ())):
            continue
        for setting, rows in groups:
            by_seed = rows.pivot_table(index="seed", columns="arm", values=value).dropna()
            if a not in by_seed or b not in by_seed:
                continue
            test = stats.paired_test(by_seed[a], by_seed[b])
            where = f"With {int(setting):,} labels, " if axis else ""
            sentences.append(f"{where}{question} {stats.verdict(test, a, b)}")
    return sentences


def mcnemar_per_seed(study: Study, x, y) -> list[str]:
    """McNemar's test of Task 3 against Task 2 at each seed where both finished (their models
    on the same test images ``x``, labels ``y``)."""
    from dae_core.analysis import metrics, stats
    from dae_core.models.builders import load_model

    sentences = []
    for member in study.design().members:
        partner = study.run_of(member.key.replace("task2", "task3"))
        run = study.run_of(member.key)
        if member.arm != "task2" or not (run and partner and run.model_path.exists()
                                         and partner.model_path.exists()):
            continue
        preds = [metrics.predict(load_model(r.model_path), x).argmax(axis=1) for r in (partner, run)]
        result = stats.mcnemar(y, *preds)
        sentences.append(f"Seed {member.seed}: {result.sentence('Task 3', 'Task 2')}")
    return sentences
