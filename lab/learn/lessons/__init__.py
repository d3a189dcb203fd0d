"""One module per lesson of ``/learn``, each with a ``render(lesson: Lesson)`` function.

The order and titles are in :data:`lab.learn.core.LESSONS`; a lesson module is imported only
when its lesson is opened."""
