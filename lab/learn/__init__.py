"""The guided path (``/learn``): short lessons in the notes' order, each one idea, one small
interactive, the formula with its numbers, a predict-then-reveal question and a link that
opens the full tool page in the lesson's state."""
