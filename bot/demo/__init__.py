"""``roombot demo``: a scripted telehealth visit played through the public HTTP APIs only."""
