"""Learner turn detection from per-frame VAD probabilities: pure logic, no I/O, no clock."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

import numpy as np

from models.base import Audio
from pipeline.config import TurnTakingConfig

SignalKind = Literal["start", "speech", "gap", "pause", "check", "resume", "segment", "end", "discard"]


@dataclass(frozen=True)
class Signal:
    kind: SignalKind
    t: float  # time of the frame that produced the signal
    speech_start: float = 0.0  # first speech frame of the turn (start of its audio)
    speech_end: float = 0.0  # end of the last speech frame so far
    speech_s: float = 0.0  # seconds of speech in the turn so far
    audio: Audio | None = None  # turn audio (pause, segment, end), pre-roll included


class TurnDetector:
    """Feed every VAD frame; get signals when a learner turn starts, pauses, resumes and ends.

    A turn starts after `min_speech_s` of consecutive speech (with `preroll_s` of audio kept before
    it, so the first word is not clipped) and ends after `end_silence_s` of silence. At
    `speculate_after_s` of silence a `pause` carries the audio so far, so the reply can be
    prepared while the engine still waits; speech after that gives `resume`. Monologues longer
    than `max_segment_s` are cut at a short pause into `segment`s for chunked transcription.
    """

    def __init__(
        self,
        config: TurnTakingConfig,
        *,
        sample_rate: int = 16_000,
        frame_samples: int = 512,
        check_after_s: float | None = None,
    ) -> None:
        self.config = config
        self.check_after_s = check_after_s  # silence after which a `check` asks an end-of-turn model
        self.frame_s = frame_samples / sample_rate
        self._preroll: deque[Audio] = deque(maxlen=max(1, round(config.preroll_s / self.frame_s)))
        self.reset()

    def reset(self) -> None:
        self._run = 0  # consecutive speech frames before a turn starts
        self._run_start = 0.0
        self.active = False
        self._frames: list[Audio] = []
        self._segment_from = 0  # index into _frames of the current segment
        self._silence = 0.0
        self._paused = False
        self._checked = False
        self.pause_id = 0  # changes whenever speech resumes: a check's answer applies to one pause
        self._speech_start = 0.0
        self._speech_end = 0.0
        self._speech_s = 0.0

    def _audio(self, start: int = 0) -> Audio:
        return np.concatenate(self._frames[start:]) if len(self._frames) > start else np.zeros(0, np.float32)

    def current_audio(self) -> Audio:
        """The audio of the turn in progress (current segment), for partial transcripts."""
        return self._audio(self._segment_from) if self.active else np.zeros(0, np.float32)

    def _signal(self, kind: SignalKind, t: float, audio: Audio | None = None) -> Signal:
        return Signal(kind, t, self._speech_start, self._speech_end, self._speech_s, audio)

    def feed(self, frame: Audio, probability: float, t_end: float) -> list[Signal]:
        cfg = self.config
        speech = probability >= cfg.speech_threshold
        t_start = t_end - self.frame_s
        if not self.active:
            self._preroll.append(frame)
            if not speech:
                self._run = 0
                return []
            if self._run == 0:
                self._run_start = t_start
            self._run += 1
            if self._run * self.frame_s + 1e-9 < cfg.min_speech_s:
                return []
            self.active = True
            self._frames = list(self._preroll)
            self._preroll.clear()
            self._segment_from = 0
            self._speech_start, self._speech_end = self._run_start, t_end
            self._speech_s = self._run * self.frame_s
            self._silence = 0.0
            self._paused = False
            return [self._signal("start", t_end)]

        self._frames.append(frame)
        signals: list[Signal] = []
        if speech:
            self._speech_end = t_end
            self._speech_s += self.frame_s
            self._silence = 0.0
            self._checked = False
            self.pause_id += 1
            if self._paused:
                self._paused = False
                signals.append(self._signal("resume", t_end))
            signals.append(self._signal("speech", t_end))
        else:
            self._silence += self.frame_s
            if abs(self._silence - self.frame_s) < 1e-9:
                signals.append(self._signal("gap", t_end))
        segment_s = (len(self._frames) - self._segment_from) * self.frame_s
        long_enough = segment_s >= cfg.max_segment_s and self._silence >= 0.2
        if long_enough or segment_s >= cfg.max_segment_s * 1.25:
            signals.append(self._signal("segment", t_end, self._audio(self._segment_from)))
            self._segment_from = len(self._frames)
        if not self._paused and self._silence >= cfg.speculate_after_s and cfg.speculate_after_s < cfg.end_silence_s:
            self._paused = True
            signals.append(self._signal("pause", t_end, self._audio(self._segment_from)))
        if self.check_after_s is not None and not self._checked and self._silence + 1e-9 >= self.check_after_s:
            self._checked = True
            signals.append(self._signal("check", t_end))
        if self._silence + 1e-9 >= cfg.end_silence_s:
            signals.append(self._signal("end", t_end, self._audio(self._segment_from)))
            self.reset()
        return signals

    def full_audio(self) -> Audio:
        """All of the turn in progress (every segment), for an end-of-turn model."""
        return self._audio(0) if self.active else np.zeros(0, np.float32)

    def force_end(self, t: float) -> Signal:
        """End the turn now (an end-of-turn model judged the learner done)."""
        signal = self._signal("end", t, self._audio(self._segment_from))
        self.reset()
        return signal

    def discard(self, t: float) -> Signal:
        """Forget the turn in progress (a backchannel over the persona, a cough)."""
        signal = self._signal("discard", t)
        self.reset()
        return signal
