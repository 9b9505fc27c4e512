#!/usr/bin/env python3
"""Screenshots of the web board's main pages at 1280 px and 375 px.

Starts nothing itself: run a server first (see README, "Screenshots"), then
    python3 scripts/screenshots.py http://127.0.0.1:8080 <admin password> [out dir]
It creates a clinic, its office manager and an agent through the REST API,
opens a thread in the browser as the clinic, answers it as the agent, and
saves PNGs of the clinic's thread list and thread page, the agent's queue, the
agent's アカウント page and second-factor enrolment (QR code), and the admin's
clinic list with an ended contract's export and erase controls.
Needs selenium (pip) and Debian's chromium + chromium-driver + fonts-noto-cjk.
"""
import json
import os
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

BASE, ADMIN_PASSWORD = sys.argv[1].rstrip("/"), sys.argv[2]
OUT = sys.argv[3] if len(sys.argv) > 3 else "screenshots"
ADMIN_EMAIL = os.environ.get("MADOGUCHI_ADMIN_EMAIL", "admin@localhost")
STAMP = str(int(time.time()))


def api(method, path, body=None, token=None, headers=None):
    req = urllib.request.Request(BASE + path, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(req, data) as r:
        return json.loads(r.read() or "null")


admin = api("POST", "/v1/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})["access_token"]
org = api("POST", "/v1/organizations", {"name": "さくら内科クリニック " + STAMP}, admin)["id"]
clinic_email, agent_email, password = f"jimu{STAMP}@sakura.example", f"agent{STAMP}@vendor.example", "さくら内科の受付は九時から"
api("POST", "/v1/users", {"email": clinic_email, "display_name": "佐藤 事務長", "role": "customer",
                          "organization_id": org, "password": password}, admin)
api("POST", "/v1/users", {"email": agent_email, "display_name": "鈴木 担当", "role": "agent",
                          "password": password}, admin)
api("POST", "/v1/announcements", {"title": "電子カルテ連携の一部で遅延が発生しています", "body":
    "現在、検査結果の取り込みに遅延が発生しています。復旧作業中です。", "severity": "major",
    "status": "investigating"}, admin)


def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for a in ["--headless", "--no-sandbox", "--disable-gpu", "--lang=ja-JP", "--disable-quic",
              "--no-first-run", "--disable-background-networking", "--disable-component-update",
              "--disable-sync"]:
        opts.add_argument(a)
    opts.add_experimental_option("prefs", {"intl.accept_languages": "ja-JP,ja"})
    return webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=opts)


def login(d, email, secret=None):
    d.get(BASE + "/login")
    d.find_element(By.ID, "email").send_keys(email)
    d.find_element(By.ID, "password").send_keys(secret or password)
    d.find_element(By.CSS_SELECTOR, "button.primary").click()


def shoot(d, name):
    os.makedirs(OUT, exist_ok=True)
    for width in (1280, 375):
        d.set_window_size(width, 900)
        height = d.execute_script("return document.documentElement.scrollHeight")
        d.set_window_size(width, min(max(height, 600), 4000))
        path = os.path.join(OUT, f"{name}-{width}.png")
        d.save_screenshot(path)
        print(path)


clinic = browser()
login(clinic, clinic_email)
clinic.get(BASE + "/threads/new")
clinic.find_element(By.ID, "title").send_keys("予約システムにログインできません")
clinic.find_element(By.ID, "body").send_keys("今朝から受付端末で予約画面が開きません。\n再起動しても同じです。")
clinic.find_element(By.CSS_SELECTOR, "form.card button.primary").click()
thread_url = clinic.current_url

agent = browser()
login(agent, agent_email)
shoot(agent, "agent-queue")
agent.get(thread_url)
agent.find_element(By.ID, "body").send_keys("端末のブラウザ更新が原因の可能性。確認する。")
agent.find_element(By.CSS_SELECTOR, "input[value=internal]").click()
agent.find_element(By.CSS_SELECTOR, "form.card button.primary").click()
agent.find_element(By.ID, "body").send_keys("ご不便をおかけしております。ただいま原因を確認しています。")
agent.find_element(By.CSS_SELECTOR, "form.card button.primary").click()
shoot(agent, "agent-thread")

clinic.get(thread_url)
shoot(clinic, "clinic-thread")
clinic.get(BASE + "/threads")
shoot(clinic, "clinic-threads")
agent.get(BASE + "/account")
shoot(agent, "agent-account")
agent.find_element(By.CSS_SELECTOR, "form[action='/account/totp'] button").click()
shoot(agent, "agent-totp-enrol")

# The contract ends: the admin's list offers the archive and the erasure.
api("PATCH", "/v1/organizations/" + org, {"contract_status": "ended"}, admin, {"if-match": '"1"'})
office = browser()
login(office, ADMIN_EMAIL, ADMIN_PASSWORD)
office.get(BASE + "/admin/organizations")
office.execute_script("document.querySelectorAll('details.erase').forEach(d => d.open = true)")
shoot(office, "admin-organizations-ended")
office.quit()
clinic.quit()
agent.quit()
