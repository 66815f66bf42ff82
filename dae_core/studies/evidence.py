"""A study's results, read from its members' own records (never typed in): one row per member, means
with 95% intervals, and plain sentences from paired tests over seeds."""

from __future__ import annotations

from dae_core.analysis.stats import INTERVAL_MIN_SEEDS
from dae_core.store.runs import Run
from dae_core.studies.store import Study


def results(study: Study):
    """One row per completed member: key, arm, its settings, seed, preset, the precision it trained
    in (as its status records it; none before the precision setting existed), test figures, run id."""
    import pandas as pd

    rows = []
    design, runs = study.design(), study.read()["runs"]  # study.json read twice, not once per member
    for member in design.members:
        run = Run(study.runs_root / runs[member.key]) if member.key in runs else None
        status = run.status() if run and run.path.is_dir() else {}
        if status.get("state") != "completed" or member.arm == "pretrain":
            continue
        figures = {k: v for k, v in status.get("test", {}).items() if isinstance(v, (int, float))}
        rows.append({"key": member.key, "arm": member.arm, **member.setting, "seed": member.seed,
                     "preset": run.config().get("preset"), "precision": status.get("precision"),
                     **figures, "run": run.id})
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
    tests over seeds (a member without its pair at the same seed is left out), the arms by their
    plain names; under ``INTERVAL_MIN_SEEDS`` seeds the difference without an interval."""
    from dae_core.analysis import stats
    from dae_core.studies.designs import arm_title

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
            if test.n < INTERVAL_MIN_SEEDS:
                answer = (f"Across {test.n} seed{'s' * (test.n != 1)}, {arm_title(a)} minus {arm_title(b)} is "
                          f"{_points(test.mean_difference)} points; no interval: {NO_INTERVAL}.")
            else:
                answer = stats.verdict(test, arm_title(a), arm_title(b))
            sentences.append(f"{where}{question} {answer}")
    return sentences


NO_INTERVAL = f"intervals need {INTERVAL_MIN_SEEDS} seeds or more"
# The arm each arm is set against in a study's chart: what the question asks about.
REFERENCE = {"label-efficiency": "random-init"}
PRETRAINED_ARMS = ("mnist-ae", "fashion-ae")  # the label-efficiency arms with a pretrained encoder


def differences(table, reference: str, axis: str | None = None, value: str = "accuracy"):
    """Each arm's ``value`` minus ``reference``'s, paired by seed, per ``axis`` setting: columns
    ``arm, <axis>, n, mean, low, high, p_value`` (a 95% t interval; use it from
    ``INTERVAL_MIN_SEEDS`` pairs on)."""
    import pandas as pd

    from dae_core.analysis import stats

    by = [axis] if axis else []
    columns = ["arm", *by, "n", "mean", "low", "high", "p_value"]
    parts = []
    arms = list(dict.fromkeys(table["arm"])) if len(table) else []
    for arm in [a for a in arms if a != reference and reference in arms]:
        pairs = stats.compare_arms(table, "arm", arm, reference, ["seed"], value, by=by)
        if len(pairs):
            parts.append(pairs.rename(columns={"mean_difference": "mean"}).assign(arm=arm))
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)


def compact_table(table, axis: str | None = None, value: str = "accuracy"):
    """Test accuracy in points as "mean ± half-width" of its 95% interval over seeds ("mean (n=2)"
    under ``INTERVAL_MIN_SEEDS`` seeds): a row per ``axis`` setting and a column per arm (by its
    plain name), or without an axis a row per arm."""
    import pandas as pd

    from dae_core.studies.designs import arm_title

    summary_ = summary(table, axis, value)
    summary_["cell"] = [f"{100 * m:.1f} ± {50 * (h - lo):.1f}" if n >= INTERVAL_MIN_SEEDS else f"{100 * m:.1f} (n={n})"
                        for m, lo, h, n in zip(summary_["mean"], summary_["low"], summary_["high"], summary_["n"])]
    arms = list(dict.fromkeys(table["arm"]))
    if not axis:
        rows = summary_.set_index("arm").loc[arms]
        return pd.DataFrame({"arm": [arm_title(a) for a in arms], "seeds": rows["n"].tolist(),
                             f"test {value}, points": rows["cell"].tolist()})
    wide = summary_.pivot(index=axis, columns="arm", values="cell").reindex(columns=arms)
    return wide.rename(columns=arm_title).reset_index().rename_axis(columns=None).fillna("—")


def _interval(low: float, high: float) -> str:
    return f"95% CI {_points(low)} to {_points(high)}"


def _lead(row, a: str, b: str, axis: str) -> str:
    """One paired comparison (``a`` minus ``b`` at ``row[axis]``) in words from the leader's side."""
    from dae_core.studies.designs import arm_title

    sign = 1 if row["mean"] >= 0 else -1
    ahead, behind = (a, b) if sign > 0 else (b, a)
    low, high = sorted((sign * row["low"], sign * row["high"]))
    at = f"at {int(row[axis]):,} {axis}"
    if low > 0:
        return (f"{arm_title(ahead)} leads {arm_title(behind)} by {_points(sign * row['mean'])} points {at} "
                f"({_interval(low, high)})")
    return (f"{arm_title(ahead)} and {arm_title(behind)} are level within chance {at} "
            f"({_points(sign * row['mean'])} points apart, {_interval(low, high)})")


def label_efficiency_headline(table, axis: str = "labels", value: str = "accuracy") -> str:
    """Does the autoencoder's encoder help? The label-efficiency results' answer in one sentence:
    the pretrained arms against the same Task 3 model from random weights at every budget, then
    the Task 2 CNN from scratch against Task 3 (or, without those arms, each arm against the
    reference) with the fewest labels. Claims only from ``INTERVAL_MIN_SEEDS`` seeds on."""
    from dae_core.studies.designs import arm_title

    if not len(table):
        return "No member has finished yet: nothing to report."
    arms = list(dict.fromkeys(table["arm"]))
    reference = REFERENCE["label-efficiency"] if REFERENCE["label-efficiency"] in arms else arms[0]
    diffs = differences(table, reference, axis, value)
    complete = diffs[diffs["n"] >= INTERVAL_MIN_SEEDS]
    if not len(diffs):
        return f"Only {arm_title(reference)} has finished members: nothing to compare yet."
    if not len(complete):
        fewest = diffs[diffs[axis] == diffs[axis].min()]
        seeds = int(fewest["n"].max())
        figures = "; ".join(f"{arm_title(r['arm'])} {_points(r['mean'])} points" for _, r in fewest.iterrows())
        return (f"With {seeds} seed{'s' * (seeds != 1)} per arm there is no interval yet ({NO_INTERVAL}): at "
                f"{int(fewest[axis].iloc[0]):,} {axis}, against {arm_title(reference)}: {figures}.")
    parts = []
    pretrained = complete[complete["arm"].isin(PRETRAINED_ARMS)] if reference == "random-init" else complete[:0]
    if len(pretrained):
        gains, costs = pretrained[pretrained["low"] > 0], pretrained[pretrained["high"] < 0]
        if len(gains):
            best = gains.sort_values([axis, "mean"], ascending=[True, False]).iloc[0]
            parts.append(f"Does the autoencoder's encoder help? Yes: {_lead(best, best['arm'], reference, axis)}")
        else:
            which = ("neither autoencoder's encoder" if pretrained["arm"].nunique() > 1
                     else f"{arm_title(pretrained['arm'].iloc[0])} never")
            budgets = sorted(pretrained[axis].unique())
            below = ""
            if len(costs):
                worst = costs.loc[costs["mean"].idxmin()]
                below = (f"; {len(costs)} of {len(pretrained)} lie below it, by at most {_points(-worst['mean'])} "
                         f"points: {arm_title(worst['arm'])} at {int(worst[axis]):,} {axis}")
            parts.append(f"Does the autoencoder's encoder help? No: {which} beats {arm_title(reference)} at any "
                         f"of {len(budgets)} budgets ({int(budgets[0]):,} to {int(budgets[-1]):,} {axis}; every "
                         f"95% interval includes zero or lies below it{below})")
    if {"scratch", "mnist-ae"} <= set(arms):
        pairs = [("scratch", "mnist-ae", differences(table, "mnist-ae", axis, value).query("arm == 'scratch'"))]
    else:
        pairs = [(arm, reference, rows) for arm, rows in complete.groupby("arm", sort=False)
                 if arm not in PRETRAINED_ARMS]
    for a, b, rows in pairs:
        rows = rows[rows["n"] >= INTERVAL_MIN_SEEDS]
        if len(rows):
            clear = int(((rows["low"] > 0) | (rows["high"] < 0)).sum())
            parts.append(f"{_lead(rows.loc[rows[axis].idxmin()], a, b, axis)}, a clear difference at {clear} of "
                         f"{len(rows)} budgets")
    return "; and ".join(parts) + "."


def seeds_headline(table, value: str = "accuracy") -> str:
    """Task 3 against Task 2 over seeds in one sentence: both means, and the paired difference
    with its interval from ``INTERVAL_MIN_SEEDS`` seeds on."""
    from dae_core.analysis import stats
    from dae_core.studies.designs import arm_title

    by_seed = table.pivot_table(index="seed", columns="arm", values=value).dropna() if len(table) else None
    if by_seed is not None and len(by_seed.columns) == 1:  # one task over seeds (e.g. Task 1's PSNR)
        arm, interval = by_seed.columns[0], stats.mean_interval(by_seed.iloc[:, 0])
        spread = (f" (95% CI {interval.low:.4f} to {interval.high:.4f})"
                  if interval.n >= INTERVAL_MIN_SEEDS else f"; no interval yet ({NO_INTERVAL})")
        return f"Over {interval.n} seed{'s' * (interval.n != 1)}, {arm_title(arm)} reaches {interval.mean:.4f} " \
               f"test {value}{spread}."
    if by_seed is None or not {"task2", "task3"} <= set(by_seed.columns) or not len(by_seed):
        return "Task 2 and Task 3 have not both finished a seed yet: nothing to compare."
    presets = set(table["preset"].dropna()) if "preset" in table.columns else set()
    at = f" at the {next(iter(presets))} preset" if len(presets) == 1 else ""
    test = stats.paired_test(by_seed["task2"], by_seed["task3"])
    means = (f"{arm_title('task2')} reaches {by_seed['task2'].mean():.4f} test {value} and "
             f"{arm_title('task3')} {by_seed['task3'].mean():.4f}")
    if test.n < INTERVAL_MIN_SEEDS:
        return (f"Over {test.n} seed{'s' * (test.n != 1)}{at}, {means}: no interval yet ({NO_INTERVAL}).")
    verdict = stats.verdict(test, arm_title("task2"), arm_title("task3")).removeprefix(f"Across {test.n} seeds, ")
    return f"Over {test.n} seeds{at}, {means}: {verdict}"


def against(table, reference, value: str = "accuracy"):
    """Each arm of ``table`` against the same arm of ``reference`` (another study of the same
    design, e.g. in another precision), paired by seed: columns ``arm, n, mean, reference_mean,
    reference_low, reference_high, within, difference, low, high, p_value``; ``within``: the mean
    lies inside the reference's 95% interval over its seeds."""
    import pandas as pd

    from dae_core.analysis import stats

    rows = []
    for arm in sorted(set(table.get("arm", ())) & set(reference.get("arm", ()))):
        mine, theirs = (t[t["arm"] == arm].set_index("seed")[value] for t in (table, reference))
        seeds = mine.index.intersection(theirs.index)
        if not len(seeds):
            continue
        ref, test = stats.mean_interval(theirs), stats.paired_test(mine[seeds], theirs[seeds])
        rows.append({"arm": arm, "n": test.n, "mean": mine[seeds].mean(), "reference_mean": ref.mean,
                     "reference_low": ref.low, "reference_high": ref.high,
                     "within": bool(ref.low <= mine[seeds].mean() <= ref.high),
                     "difference": test.mean_difference, "low": test.low, "high": test.high,
                     "p_value": test.p_value})
    return pd.DataFrame(rows, columns=["arm", "n", "mean", "reference_mean", "reference_low",
                                       "reference_high", "within", "difference", "low", "high", "p_value"])


def against_sentences(rows, label: str, reference_label: str, value: str = "accuracy") -> list[str]:
    """``against``'s rows in words, one per arm: both means, the paired difference with its
    interval, and whether the mean lies inside the reference's interval over seeds."""
    from dae_core.studies.designs import arm_title

    scale, unit = (100, "points") if value == "accuracy" else (1, "dB")
    sentences = []
    for row in rows.itertuples():
        inside = "inside" if row.within else "outside"
        sentences.append(
            f"{arm_title(row.arm)}: {row.mean:.4f} in {label} against {row.reference_mean:.4f} in "
            f"{reference_label} over {row.n} seeds, a difference of {scale * row.difference:+.2f} {unit} "
            f"(95% CI {scale * row.low:+.2f} to {scale * row.high:+.2f}), {inside} {reference_label}'s "
            f"interval ({row.reference_low:.4f} to {row.reference_high:.4f}).")
    return sentences


def variants_headline(table, value: str = "accuracy") -> str:
    """The variants ranked by their mean test accuracy, with how many seeds stand behind them."""
    from dae_core.studies.designs import arm_title

    if not len(table):
        return "No variant has finished yet."
    means = table.groupby("arm", sort=False)[value].agg(["mean", "count"]).sort_values("mean", ascending=False)
    seeds = int(means["count"].min())
    ranked = "; ".join(f"{arm_title(arm)} {row['mean']:.4f}" for arm, row in means.iterrows())
    if seeds < INTERVAL_MIN_SEEDS:
        return (f"From best to worst, with {seeds} seed{'s' * (seeds != 1)} each (no 95% intervals: "
                f"{NO_INTERVAL}): {ranked}.")
    return f"From best to worst, mean test {value} over {seeds} seeds or more: {ranked}."


def headline(name: str, table, axis: str | None = None, value: str = "accuracy") -> str:
    """The one sentence that answers study ``name``'s question, computed from its results."""
    from dae_core.analysis import robustness

    if name == "robustness":
        return robustness.headline(table)
    if name == "pretraining":
        return pretraining_headline(pretraining_gains(table, axis or "labels", value), axis or "labels")
    if name == "label-efficiency":
        return label_efficiency_headline(table, axis or "labels", value)
    if name == "seeds":
        return seeds_headline(table, value)
    return variants_headline(table, value)


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


def gain_sentences(gains, axis: str = "labels") -> list[str]:
    """Each gain from pretraining (``pretraining_gains``) as a sentence, plain names, the interval
    from ``INTERVAL_MIN_SEEDS`` seeds on."""
    sentences = []
    for _, row in gains.sort_values([axis, "architecture", "pretraining"]).iterrows():
        n = int(row["n"])
        interval = (_interval(row["low"], row["high"]) if n >= INTERVAL_MIN_SEEDS
                    else f"no interval: {NO_INTERVAL}")
        sentences.append(f"With {int(row[axis]):,} {axis}, {_name(row)}: {_points(row['mean'])} points over the "
                         f"same model from random weights ({interval}; {n} seed{'s' * (n != 1)}).")
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
