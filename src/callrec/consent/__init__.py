"""Consent in the call: announcements (MP3 upload, text-to-speech), ask-to-record, beeps."""
