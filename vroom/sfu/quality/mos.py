"""Call-quality MOS (sans-I/O): the E-model of ITU-T G.107 and Twilio's preflight MOS.

1. **E-model**, ITU-T G.107 in the simplified form WebRTC stats tools use
   (sfu.md §4.3). Clause numbers are those of G.107 (12/2011) and later
   editions; the 2003–2009 editions number the same clauses 3.x.

   * §7.1: ``R = Ro − Is − Id − Ie,eff + A``. With every other parameter at
     its default (§7.7) this leaves ``R = 93.2 − Id − Ie,eff + A``.
   * §7.4 (Id): G.107's own Id needs echo-path parameters. We use the
     simplified delay term of the reference (the PingPlotter form, also used by
     LiveKit and Twilio): ``d_eff = delay + 2·jitter + 10 ms`` and
     ``Id = d_eff/40`` if ``d_eff < 160 ms``, else ``(d_eff − 120)/10``.
     The two branches meet at 160 ms (both give 4).
   * §7.5 (Ie,eff): ``Ie,eff = Ie + (95 − Ie) · Ppl / (Ppl/BurstR + Bpl)``,
     where Ppl is the packet loss in percent and BurstR is 1 for random loss.
   * §7.6 (A): the advantage factor, 0 for wired access (the default here).
   * Annex B: ``MOS = 1`` for R < 0, ``4.5`` for R > 100, otherwise
     ``1 + 0.035R + 7·10⁻⁶·R(R − 60)(100 − R)``.

2. **Twilio preflight MOS** (``twilio/twilio-video.js`` ``lib/preflight/mos.ts``;
   twilio.md §6), reproduced branch for branch, including its R floor of 6.52,
   and its ``mosToScore`` table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "E_MODEL_R_DEFAULT",
    "DELAY_ALLOWANCE_MS",
    "CodecImpairment",
    "CODEC_IMPAIRMENTS",
    "check_fraction",
    "check_nonnegative",
    "delay_impairment",
    "effective_equipment_impairment",
    "burst_ratio_from_gilbert",
    "r_factor",
    "mos_from_r",
    "audio_mos",
    "TWILIO_PREFLIGHT_R0",
    "twilio_preflight_mos",
    "quality_score_from_mos",
]


# --------------------------------------------------------------------------------------------
# 1. E-model (ITU-T G.107), as WebRTC stats tools use it
# --------------------------------------------------------------------------------------------

#: ``Ro − Is`` (less the default delay terms) with all G.107 §7.7 default values: R = 93.2.
E_MODEL_R_DEFAULT = 93.2
#: The simplified Id adds 10 ms to the measured delay (codec and packetization allowance).
DELAY_ALLOWANCE_MS = 10.0


@dataclass(frozen=True, slots=True)
class CodecImpairment:
    """A codec's equipment impairment factor ``Ie`` and packet-loss robustness ``Bpl`` (G.107 §7.5)."""

    ie: float
    bpl: float


#: Ie and Bpl per codec. ``opus`` is the reference's "practical choice for the simulator" for
#: Opus at about 32 kbps with random loss (sfu.md §4.3, from the extended-E-model measurements in
#: ``mohaoahmadi/Opus_Codec_Quality_Evaluation``; bursty loss measured Bpl ≈ 8, pass ``bpl=8``).
#: The G.711 and G.729A values are those of ITU-T G.113 Appendix I as the reference lists them
#: (flagged there as from memory).
CODEC_IMPAIRMENTS: dict[str, CodecImpairment] = {
    "opus": CodecImpairment(ie=15.0, bpl=10.0),
    "g711": CodecImpairment(ie=0.0, bpl=25.1),        # G.711 with packet-loss concealment
    "g711-noplc": CodecImpairment(ie=0.0, bpl=4.3),   # G.711 without concealment
    "g729a": CodecImpairment(ie=11.0, bpl=19.0),      # G.729A with VAD
}


def check_nonnegative(name: str, value: float) -> float:
    """``value`` as a float, refused (``ValueError`` naming it) when negative or NaN."""
    value = float(value)
    if not value >= 0.0:  # also refuses NaN
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return value


def check_fraction(name: str, value: float) -> float:
    """``value`` as a float, refused (``ValueError`` naming it) outside [0, 1]."""
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a fraction in [0, 1] (0.05 is 5%), got {value!r}")
    return value


def delay_impairment(one_way_delay_ms: float, jitter_ms: float = 0.0) -> float:
    """Id from the simplified delay term (sfu.md §4.3; stands in for G.107 §7.4).

    ``d_eff = delay + 2·jitter + 10``; ``Id = d_eff/40`` below 160 ms, else ``(d_eff − 120)/10``.
    """
    d_eff = (check_nonnegative("one_way_delay_ms", one_way_delay_ms)
             + 2.0 * check_nonnegative("jitter_ms", jitter_ms) + DELAY_ALLOWANCE_MS)
    if d_eff < 160.0:
        return d_eff / 40.0
    return (d_eff - 120.0) / 10.0


def effective_equipment_impairment(packet_loss: float, *, ie: float, bpl: float,
                                   burst_ratio: float = 1.0) -> float:
    """Ie,eff of G.107 §7.5: ``Ie + (95 − Ie) · Ppl / (Ppl/BurstR + Bpl)``.

    ``packet_loss`` is a fraction (0.05 is 5%); G.107's Ppl is in percent.
    """
    ppl = 100.0 * check_fraction("packet_loss", packet_loss)
    if not burst_ratio > 0.0:
        raise ValueError(f"burst_ratio must be > 0, got {burst_ratio!r}")
    if not (0.0 <= ie <= 95.0 and bpl > 0.0):
        raise ValueError(f"expected 0 <= ie <= 95 and bpl > 0, got ie={ie!r}, bpl={bpl!r}")
    # Ppl/(Ppl/B + Bpl) = B·x/(x + Bpl) with x = Ppl/B, written as B·(1 − Bpl/(x + Bpl)) so that
    # each floating-point step is monotone in Ppl (more loss can never round to less impairment).
    x = ppl / burst_ratio
    return ie + (95.0 - ie) * (burst_ratio * (1.0 - bpl / (x + bpl)))


def burst_ratio_from_gilbert(p: float, q: float) -> float:
    """BurstR for a two-state Markov (Gilbert) loss process, G.107 §7.5: ``1 / (p + q)``.

    ``p`` is P(loss | previous packet received), ``q`` is P(received | previous packet lost).
    Random (Bernoulli) loss has p + q = 1, hence BurstR = 1.
    """
    p = check_fraction("p", p)
    q = check_fraction("q", q)
    if p + q <= 0.0:
        raise ValueError("p + q must be > 0")
    return 1.0 / (p + q)


def r_factor(one_way_delay_ms: float, packet_loss: float, *, codec: str = "opus",
             burst_ratio: float = 1.0, jitter_ms: float = 0.0, ie: float | None = None,
             bpl: float | None = None, advantage: float = 0.0) -> float:
    """Transmission rating R (G.107 §7.1): ``93.2 − Id − Ie,eff + A``, clamped to [0, 100].

    ``packet_loss`` is a fraction (0.05 is 5%). ``codec`` picks Ie and Bpl from
    ``CODEC_IMPAIRMENTS``; ``ie`` / ``bpl`` override them. ``advantage`` is G.107's A (§7.6).
    The clamp keeps R on the scale Annex B maps; a very long delay would otherwise push it below 0.
    """
    try:
        imp = CODEC_IMPAIRMENTS[codec]
    except KeyError:
        raise ValueError(f"unknown codec {codec!r}; expected one of {sorted(CODEC_IMPAIRMENTS)}") from None
    ie_eff = effective_equipment_impairment(packet_loss, ie=imp.ie if ie is None else ie,
                                            bpl=imp.bpl if bpl is None else bpl, burst_ratio=burst_ratio)
    r = E_MODEL_R_DEFAULT - delay_impairment(one_way_delay_ms, jitter_ms) - ie_eff + advantage
    return min(100.0, max(0.0, r))


def mos_from_r(r: float) -> float:
    """G.107 Annex B: R → MOS (conversational quality estimate), within [1, 4.5].

    ``R < 0 → 1``; ``R > 100 → 4.5``; otherwise ``1 + 0.035R + 7·10⁻⁶·R(R − 60)(100 − R)``.
    The polynomial dips just under 1 for 0 < R < 6.52 (to 0.989 at R ≈ 3.2); we clamp it at 1
    so MOS never decreases as R increases. (Twilio's preflight floor of R = 6.52 is that root.)
    """
    r = float(r)
    if math.isnan(r):
        raise ValueError("R is NaN")
    if r <= 0.0:
        return 1.0
    if r >= 100.0:
        return 4.5
    mos = 1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r)
    return min(4.5, max(1.0, mos))


def audio_mos(one_way_delay_ms: float, packet_loss: float, **kwargs: object) -> float:
    """E-model MOS of a voice stream: ``mos_from_r(r_factor(...))``; same arguments as ``r_factor``."""
    return mos_from_r(r_factor(one_way_delay_ms, packet_loss, **kwargs))  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# 2. Twilio preflight MOS (twilio-video.js lib/preflight/mos.ts)
# --------------------------------------------------------------------------------------------

#: twilio-video.js ``r0``. It equals G.107's default Ro = 15 − 1.5·(SLR + No) = 94.77.
TWILIO_PREFLIGHT_R0 = 94.768


def twilio_preflight_mos(rtt_ms: float, jitter_ms: float, loss_percent: float) -> float:
    """``calculateMOS`` of twilio-video.js, branch for branch (twilio.md §6).

    effLatency = rtt + 2·jitter + 10; R = r0 − eff/40 if eff < 160, else r0 − (eff − 120)/10 if
    eff < 1000, else 0. Then if loss ≤ R/2.5: R = max(R − 2.5·loss, 6.52), else R = 0.
    MOS = 1 + 0.035R + 7·10⁻⁶·R(R − 60)(100 − R), not clamped (R stays in [0, 94.52]).

    Units are as the names say. (The SDK itself calls it with jitter in seconds and loss as a
    fraction, straight from getStats; the formula does not care, the numbers do.)
    """
    eff = float(rtt_ms) + 2.0 * float(jitter_ms) + 10.0
    r = 0.0
    if eff < 160.0:
        r = TWILIO_PREFLIGHT_R0 - eff / 40.0
    elif eff < 1000.0:
        r = TWILIO_PREFLIGHT_R0 - (eff - 120.0) / 10.0
    if loss_percent <= r / 2.5:
        r = max(r - loss_percent * 2.5, 6.52)
    else:
        r = 0.0
    return 1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r)


def quality_score_from_mos(mos: float | None) -> int:
    """``mosToScore``: > 4.2 → 5, > 4.0 → 4, > 3.6 → 3, > 3 → 2, else 1; 0 when there is no MOS.

    JavaScript's ``!mosValue`` is true for null, undefined, 0 and NaN: all give 0 here too.
    """
    if mos is None or mos == 0 or math.isnan(mos):
        return 0
    if mos > 4.2:
        return 5
    if mos > 4.0:
        return 4
    if mos > 3.6:
        return 3
    if mos > 3.0:
        return 2
    return 1
