"""A site's business hours: the days and the time of day the team answers, in the site's time
zone. Kept as JSON on the site ({"time_zone": "Europe/Paris", "days": ["mon", ...],
"opens": "09:00", "closes": "18:00"}); none means always open. Outside them the bot offers
the offline form instead of handing the chat to a person."""
import json
import re
from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..validation import invalid

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = dict(zip(DAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")))
CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def checked(time_zone, days, opens, closes):
    """The hours as stored, from the admin's form; ChatError with a sentence for each mistake."""
    time_zone = (time_zone or "").strip()
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise invalid(f"{time_zone or 'An empty name'} is not a time zone; write one like Europe/Paris.") from None
    days = [day for day in DAYS if day in set(days or ())]
    if not days:
        raise invalid("Choose at least one day the team answers.")
    for label, value in (("opening", opens), ("closing", closes)):
        if not CLOCK.match(value or ""):
            raise invalid(f"The {label} time must be written HH:MM, from 00:00 to 23:59.")
    if opens >= closes:
        raise invalid("The closing time must come after the opening time.")
    return {"time_zone": time_zone, "days": days, "opens": opens, "closes": closes}


def hours_of(site):
    return json.loads(site.business_hours) if site.business_hours else None


def is_open(hours, now=None):
    """Whether `now` (UTC, default the present) falls within the hours; True without any."""
    if hours is None:
        return True
    local = (now or datetime.now(timezone.utc)).astimezone(ZoneInfo(hours["time_zone"]))
    opens, closes = (time.fromisoformat(hours[key]) for key in ("opens", "closes"))
    return DAYS[local.weekday()] in hours["days"] and opens <= local.time().replace(tzinfo=None) < closes


def describe(hours):
    """The hours in words, e.g. "Monday to Friday, 09:00-18:00 (Europe/Paris time)"."""
    days = hours["days"]
    indexes = [DAYS.index(day) for day in days]
    if len(days) > 2 and indexes == list(range(indexes[0], indexes[-1] + 1)):
        named = f"{DAY_NAMES[days[0]]} to {DAY_NAMES[days[-1]]}"
    else:
        named = ", ".join(DAY_NAMES[day] for day in days)
    return f"{named}, {hours['opens']}-{hours['closes']} ({hours['time_zone']} time)"
