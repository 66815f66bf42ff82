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


# --- the pretraining study: what pretraining adds to the same architecture -----------------------

# How each architecture reads in a sentence, after "when".
WHEN = {"probe": "the encoder is frozen under a linear head", "head": "the encoder is frozen under a small head",
        "finetune": "the whole CNN is fine-tuned", "mlp": "the fully connected network is fine-tuned"}
FOR = {"probe": "a linear probe on the {p}'s frozen encoder", "head": "a small head on the {p}'s frozen encoder",
       "finetune": "the Task 3 CNN fine-tuned from the {p}",
       "mlp": "the fully connected network fine-tuned from its {p}"}
PRETRAINED_BY = {"mnist-ae": "MNIST autoencoder", "fashion-ae": "in-domain autoencoder",
                 "fashion-mae": "in-domain masked autoencoder"}
CONTROL = "random"  # the pretraining every other one is compared with: the same model, random weights
INTERVAL_MIN_SEEDS = 3  # below this many paired seeds the gains are given without an interval


def pretraining_gains(table, axis: str = "labels", value: str = "accuracy"):
    """Per architecture, pretraining and ``axis`` setting: the gain from pretraining, i.e. the
    pretrained arm's ``value`` minus the same architecture's from random weights, paired by seed
    (the same labelled subset), as columns ``architecture, pretraining, <axis>, n, mean, low, high,
    p_value`` (a 95% t interval over the seeds' differences; low == high below 2 seeds)."""
    import pandas as pd

    from dae_core.analysis import stats

    columns = ["architecture", "pretraining", axis, "n", "mean", "low", "high", "p_value"]
    parts = []
    if not {"architecture", "pretraining", axis, value} <= set(table.columns if len(table) else ()):
        return pd.DataFrame(columns=columns)
    for architecture, rows in table.groupby("architecture", sort=False):
        for pretraining in [p for p in rows["pretraining"].unique() if p != CONTROL]:
            pairs = stats.compare_arms(rows, "pretraining", pretraining, CONTROL, ["seed"], value, by=[axis])
            if len(pairs):
                parts.append(pairs.rename(columns={"mean_difference": "mean"})
                             .assign(architecture=architecture, pretraining=pretraining))
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def _points(x: float) -> str:
    """An accuracy difference in points: 0.0123 -> "1.2" (never "-0.0")."""
    return f"{round(100 * x, 1) + 0.0:.1f}"


def _name(row) -> str:
    return FOR.get(row["architecture"], row["architecture"]).format(
        p=PRETRAINED_BY.get(row["pretraining"], row["pretraining"]))


def pretraining_headline(gains, axis: str = "labels") -> str:
    """One sentence from the gains (``pretraining_gains``): the largest gain with the fewest
    labels, with its interval, and the architectures where no pretraining pays at any setting;
    whatever the data says. Below ``INTERVAL_MIN_SEEDS`` paired seeds: figures, no claims."""
    if gains is None or not len(gains):
        return "No pretrained arm has finished beside its random-weights control yet: no gain to report."
    if (gains["n"] >= INTERVAL_MIN_SEEDS).any():  # while a study runs: claims from complete pairs only
        gains = gains[gains["n"] >= INTERVAL_MIN_SEEDS]
    fewest = gains[axis].min()
    at = gains[gains[axis] == fewest]
    best = at.loc[at["mean"].idxmax()]
    where = f"{int(fewest):,} {axis}"
    seeds = int(gains["n"].min())
    if seeds < INTERVAL_MIN_SEEDS:
        worst = at.loc[at["mean"].idxmin()]
        return (f"With {seeds} seed{'s' * (seeds != 1)} per pair there is no interval yet: at {where} the "
                f"largest gain from pretraining is {_points(best['mean'])} points, for {_name(best)}, and the "
                f"smallest {_points(worst['mean'])}, for {_name(worst)}; run {INTERVAL_MIN_SEEDS} seeds or more "
                "to tell them from chance.")
    interval = f"95% CI {_points(best['low'])} to {_points(best['high'])}"
    if best["low"] > 0:
        sentence = f"Pretraining pays {_points(best['mean'])} points at {where} ({interval}) for {_name(best)}"
        same = gains[(gains.architecture == best.architecture) & (gains.pretraining == best.pretraining)]
        last = same[same[axis] == same[axis].max()].iloc[0]
        if last[axis] != fewest:
            sentence += (f" (at {int(last[axis]):,} {axis}: {_points(last['mean'])} points, 95% CI "
                         f"{_points(last['low'])} to {_points(last['high'])})")
    else:
        sentence = (f"No pretraining pays measurably at {where}: the largest gain, {_points(best['mean'])} "
                    f"points for {_name(best)}, has a {interval}")
        clear = gains[gains["low"] > 0]
        if len(clear):
            top = clear.loc[clear["mean"].idxmax()]
            sentence += (f"; the largest clear gain is {_points(top['mean'])} points at {int(top[axis]):,} "
                         f"{axis} (95% CI {_points(top['low'])} to {_points(top['high'])}) for {_name(top)}")
    nothing = [a for a, rows in gains.groupby("architecture", sort=False) if not (rows["low"] > 0).any()]
    if nothing and best["low"] > 0:
        sentence += (f"; and nothing measurable when {' or when '.join(WHEN.get(a, a) for a in nothing)} "
                     "(every interval there includes zero or lies below it)")
    costs = gains[gains["high"] < 0]
    if len(costs):
        worst = costs.loc[costs["mean"].idxmin()]
        sentence += (f"; it costs {_points(-worst['mean'])} points for {_name(worst)} at "
                     f"{int(worst[axis]):,} {axis}")
    return sentence + "."


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
