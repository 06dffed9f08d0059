"""A fitted :class:`~zjfin.model.DefaultModel` as JSON, never pickle.

Models travel between institutions, and loading a pickle runs code; a JSON file is data.
The file carries a format name and version, and a SHA-256 checksum of its content so a
file edited by hand (a WOE or a coefficient changed) or damaged on the way is refused
instead of scoring firms with numbers nobody fitted.

A checksum stops accidents, not a forger: whoever edits the file can recompute it. When
the sender and the receiver share a secret key, ``key=`` adds an HMAC-SHA256 of the
content that only the key's holders can produce, and loading with the key refuses a file
whose HMAC is missing or wrong.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zjfin._errors import ModelFormatError
from zjfin.model.binning import FeatureBinning

__all__ = ["FORMAT", "FORMAT_VERSION", "model_checksum", "model_from_json", "model_to_json"]

FORMAT = "zjfin.DefaultModel"
#: Bumped whenever a reader of the previous version would misread the file.
FORMAT_VERSION = 1


def _float(value: Any) -> float | None:
    """A float for JSON; NaN (a standard error not estimated) becomes null."""
    value = float(value)
    return None if math.isnan(value) else value


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _canonical(content: dict[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _checksum(content: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(content)).hexdigest()


def _signature(content: dict[str, Any], key: str | bytes) -> str:
    secret = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    return hmac.new(secret, _canonical(content), hashlib.sha256).hexdigest()


def model_to_json(model: Any, path: Any = None, key: str | bytes | None = None) -> str | None:
    """Write a fitted model as JSON.

    Parameters
    ----------
    model : DefaultModel
        Fitted.
    path : path-like, optional
        Where to write; without it the JSON text is returned.
    key : str or bytes, optional
        A secret shared with whoever loads the model: the file then also carries an
        HMAC-SHA256 of its content, which :func:`model_from_json` checks with the same key.

    Examples
    --------
    >>> from zjfin.model import DefaultModel
    >>> rng = np.random.default_rng(1)
    >>> X = pd.DataFrame({"debt_ratio": rng.uniform(0, 1, 500)})
    >>> y = (rng.uniform(size=500) < X["debt_ratio"] / 3).astype(int)
    >>> m = DefaultModel().fit(X, y)
    >>> again = DefaultModel.from_json(m.to_json())
    >>> bool(np.array_equal(again.predict_proba(X), m.predict_proba(X)))
    True
    """
    from zjfin._version import __version__

    content = _content(model)
    document = {"format": FORMAT, "format_version": FORMAT_VERSION, "zjfin_version": __version__,
                "content": content, "sha256": _checksum(content)}
    if key is not None:
        document["hmac_sha256"] = _signature(content, key)
    text = json.dumps(document, ensure_ascii=False, indent=1, allow_nan=False)
    if path is None:
        return text
    Path(path).write_text(text + "\n", encoding="utf-8")
    return None


def model_checksum(model: Any) -> str:
    """The SHA-256 a model's JSON file carries (the manifest records it)."""
    return _checksum(_content(model))


def _content(model: Any) -> dict[str, Any]:
    """Everything a fitted model needs to predict and to explain itself, as JSON values."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "coef_")
    table = model.coef_table_
    return {
        "params": {k: _plain(v) for k, v in model.get_params().items()},
        "classes": [_plain(c) for c in model.classes_],
        "feature_names": list(model.feature_names_),
        "feature_names_in": [str(c) for c in getattr(model, "feature_names_in_", [])],
        "n_train": model.n_train_,
        "event_rate": model.event_rate_,
        "binnings": [model.binnings_[name].to_dict() for name in model.feature_names_],
        "features": list(model.features_),
        "intercept": model.intercept_,
        "coef": [float(c) for c in model.coef_],
        "coef_table": {column: [_float(v) for v in table[column]] for column in table.columns},
        "inference": model.inference_,
        "selection": json.loads(model.selection_table_.to_json(orient="records")),
        "calibrator": model.calibrator_,
        "score_cuts": [float(v) for v in model.score_cuts_],
        "score_shares": [float(v) for v in model.score_shares_],
        "warnings": list(model.warnings_),
    }


def model_from_json(source: Any, model_class: type, key: str | bytes | None = None) -> Any:
    """Load a model written by :func:`model_to_json`.

    Parameters
    ----------
    source : path-like or str
        A file, or the JSON text itself.
    model_class : type
        The estimator class to build (:class:`zjfin.model.DefaultModel`, whose
        ``from_json`` calls this).
    key : str or bytes, optional
        The secret the sender wrote the model with: the file's HMAC must match it.

    Raises
    ------
    ModelFormatError
        Not a zjfin model, a format version this zjfin does not read, a checksum that
        does not match (the file was changed after it was written), an HMAC missing or
        not matching ``key``, or contents that are not a complete model.
    """
    where, text = _read(source)
    try:
        # NaN and Infinity are not JSON (Python writes them, no other reader takes them), and
        # a model nested thousands deep is an attack on the parser, not a model.
        document = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise ModelFormatError(f"{where}: not JSON ({error.msg} at line {error.lineno})") from None
    except _NotJSON as error:
        raise ModelFormatError(f"{where}: not JSON ({error} is no JSON number)") from None
    except RecursionError:
        raise ModelFormatError(f"{where}: not a model (arrays or objects nested too deep to read)") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelFormatError(f"{where}: not a zjfin model file (format {FORMAT!r} expected)")
    version = document.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:  # True == 1 in Python: not a version
        raise ModelFormatError(f"{where}: model format version {version!r} is not one this zjfin reads "
                               f"(it reads version {FORMAT_VERSION}); written by zjfin {document.get('zjfin_version')}")
    content = document.get("content")
    if not isinstance(content, dict) or document.get("sha256") != _checksum(content):
        raise ModelFormatError(f"{where}: the contents do not match their checksum; the file was changed after "
                               "it was written, refit or re-export the model")
    if key is not None:
        signature = document.get("hmac_sha256")
        if not isinstance(signature, str) or not hmac.compare_digest(signature, _signature(content, key)):
            raise ModelFormatError(f"{where}: the model is not signed with this key (HMAC "
                                   f"{'missing' if signature is None else 'does not match'}); do not use it")
    try:
        return _model(content, model_class)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ModelFormatError(f"{where}: the contents are not a complete model ({type(error).__name__}: {error})") from None


class _NotJSON(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise _NotJSON(name)


def _model(content: dict[str, Any], model_class: type) -> Any:
    """The model object from checked content."""
    model = model_class(**content["params"])
    model.classes_ = np.asarray(content["classes"])
    model.feature_names_ = content["feature_names"]
    if content["feature_names_in"]:
        model.feature_names_in_ = np.asarray(content["feature_names_in"], dtype=object)
    model.n_features_in_ = len(content["feature_names"])
    model.n_train_, model.event_rate_ = content["n_train"], content["event_rate"]
    model.binnings_ = {b["name"]: FeatureBinning.from_dict(b) for b in content["binnings"]}
    model.features_ = content["features"]
    model.intercept_ = content["intercept"]
    model.coef_ = np.asarray(content["coef"], dtype=float)
    model.coef_table_ = pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in content["coef_table"].items()},
                                     index=pd.Index(["(intercept)"] + model.features_, name="term"))
    model.inference_ = content["inference"]
    model.selection_table_ = pd.DataFrame.from_records(content["selection"])
    model.calibrator_ = content["calibrator"]
    model.score_cuts_ = np.asarray(content["score_cuts"], dtype=float)
    model.score_shares_ = np.asarray(content["score_shares"], dtype=float)
    model.warnings_ = content["warnings"]
    return model


def _read(source: Any) -> tuple[str, str]:
    """(where, text) from a path or from JSON text."""
    if isinstance(source, str) and source.lstrip().startswith("{"):
        return "model JSON", source
    path = Path(source)
    try:
        return str(path), path.read_text(encoding="utf-8")
    except OSError as error:
        raise ModelFormatError(f"{path}: cannot be read ({error.strerror})") from None
