"""Model prices, kept as data: ``data/prices.json`` plus whatever the user adds.

Prices are USD per million tokens (``input``, ``output`` and optionally
``cached_input`` for cache reads). A model matches a key exactly, or a key
followed by ``-``/``:``/``@`` (a dated snapshot such as
``gpt-4o-mini-2024-07-18``); the longest key wins. A ``provider/`` prefix as
LiteLLM writes it (``openai/gpt-4o``) is ignored, and so are a Bedrock model id's
inference-profile region and vendor (``us.anthropic.claude-3-5-haiku-20241022-v1:0``
is priced as ``claude-3-5-haiku``) when the full id has no price. An unknown model costs
``None``: llmlog never guesses a price.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

__all__ = ["PriceTable", "cost_usd"]

_REGIONS = frozenset({"us", "eu", "apac", "global", "us-gov", "jp", "au", "ca"})


class PriceTable:
    """Look up and apply per-token prices."""

    def __init__(
        self, extra: Mapping[str, Mapping[str, float]] | None = None, extra_file: str | None = None
    ) -> None:
        """Build the table from the bundled prices, then ``extra_file``, then ``extra``.

        Raises:
            ValueError: ``extra_file`` is unreadable or an entry lacks input/output prices.
        """
        text = resources.files("llmlog").joinpath("data/prices.json").read_text("utf-8")
        table: dict[str, dict[str, float]] = {
            k: dict(v) for k, v in json.loads(text).items() if not k.startswith("_")
        }
        if extra_file:
            try:
                loaded = json.loads(Path(extra_file).read_text("utf-8"))
            except (OSError, ValueError) as exc:
                raise ValueError(f"LLMLOG_PRICES: cannot read {extra_file}: {exc}") from None
            table.update(_validated(loaded, extra_file))
        if extra:
            table.update(_validated(extra, "price_table"))
        self._table = table
        self._cache: dict[str, dict[str, float] | None] = {}
        self._rates: dict[str, tuple[float, float, float] | None] = {}

    def lookup(self, model: str) -> dict[str, float] | None:
        """Return the prices for ``model`` (cached; the cache is bounded)."""
        try:
            return self._cache[model]
        except KeyError:
            pass
        price = self._lookup(model)
        if len(self._cache) < 4096:
            self._cache[model] = price
        return price

    def _lookup(self, model: str) -> dict[str, float] | None:
        name = model.rsplit("/", 1)[-1].lower()
        found = self._match(name)
        if found is None and "." in name:
            # Bedrock ids: an inference profile's region, then the vendor
            # ("us.anthropic.claude-3-5-haiku-...-v1:0" is priced as claude-3-5-haiku).
            head, _, rest = name.partition(".")
            if head in _REGIONS:
                name = rest
                found = self._match(name)
            head, _, rest = name.partition(".")
            if found is None and rest and head.isalpha():
                found = self._match(rest)
        return found

    def _match(self, name: str) -> dict[str, float] | None:
        best: str | None = None
        for key in self._table:
            k = key.lower()
            matches = name == k or (name.startswith(k) and name[len(k)] in "-:@")
            if matches and (best is None or len(k) > len(best)):
                best = key
        return self._table[best] if best is not None else None

    def cost(
        self,
        model: str | None,
        input_tokens: int | None,
        output_tokens: int | None,
        cached_input_tokens: int | None = None,
    ) -> float | None:
        """Return the cost in USD, or None when the model or the token counts are unknown."""
        if not model or input_tokens is None or output_tokens is None:
            return None
        try:
            p = self._rates[model]
        except KeyError:
            price = self.lookup(model)
            p = (
                None
                if price is None
                else (price["input"], price["output"], price.get("cached_input", price["input"]))
            )
            if len(self._rates) < 4096:
                self._rates[model] = p
        if p is None:
            return None
        if cached_input_tokens:
            cached = cached_input_tokens if cached_input_tokens < input_tokens else input_tokens
            total = (input_tokens - cached) * p[0] + cached * p[2] + output_tokens * p[1]
        else:
            total = input_tokens * p[0] + output_tokens * p[1]
        return round(total / 1_000_000, 10)


def _validated(data: object, source: str) -> dict[str, dict[str, float]]:
    if not isinstance(data, Mapping):
        raise ValueError(f"{source}: expected an object of model -> prices")
    out: dict[str, dict[str, float]] = {}
    for model, price in data.items():
        if str(model).startswith("_"):
            continue
        if not isinstance(price, Mapping) or "input" not in price or "output" not in price:
            raise ValueError(
                f"{source}: {model!r} needs 'input' and 'output' prices (USD per 1M tokens)"
            )
        try:
            out[str(model)] = {k: float(v) for k, v in price.items()}
        except (TypeError, ValueError):
            raise ValueError(f"{source}: {model!r} has a non-numeric price") from None
    return out


_default: PriceTable | None = None


def cost_usd(
    model: str | None,
    input_tokens: int | None,
    output_tokens: int | None,
    cached_input_tokens: int | None = None,
) -> float | None:
    """Return the cost of a call with the bundled price table (None if unknown)."""
    global _default
    if _default is None:
        _default = PriceTable()
    return _default.cost(model, input_tokens, output_tokens, cached_input_tokens)
