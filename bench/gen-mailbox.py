#!/usr/bin/env python3
"""Writes a mailbox restore-point tree (docs/mail.md section 1) of N generated
messages for bench/search.sh: folders, files named by UID, user.imap.* xattrs.
About 10 % of the messages are Chinese, Japanese or Korean text written as
those languages are (no spaces between Chinese and Japanese words), 3 % are
meeting invites with a text/calendar part; 10 % have an attachment.
Deterministic (fixed seeds; the CJK and invite choices use their own, so the
other messages are those of the corpus before they were added).
Usage: gen-mailbox.py DIR N"""
import base64, os, random, sys

root, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(20261121)
common = ("the of and to in is for on that with as at by from this be are was it an or "
          "meeting report invoice budget project review update please thanks regards team "
          "customer order shipment contract payment account statement schedule release plan "
          "server backup restore network security incident ticket support question answer "
          "draft final agenda minutes quarter revenue forecast hiring onboarding travel").split()
syll = "ka lo mi ne ru sa te vo zi pa do fe gu hi ja ko lu ma".split()
rare = ["".join(rnd.choice(syll) for _ in range(rnd.randint(2, 4))) for _ in range(20000)]
people = ["%s.%s@%s.example" % (rnd.choice(rare), rnd.choice(rare), rnd.choice(rare[:300]))
          for _ in range(2000)]
folders = ["INBOX", "Sent", "Archive/2023", "Archive/2024", "Projects/Alpha", "Projects/Beta",
           "Lists/dev", "Lists/announce", "Receipts", "Travel"]
weights = [40, 10, 15, 15, 4, 4, 5, 3, 2, 2]

# CJK text: its own generator, so the Latin messages stay as they were.
rnd2 = random.Random(20261207)
zh = ("会议 报告 项目 预算 客户 合同 付款 服务器 备份 恢复 网络 安全 问题 答案 草案 议程 季度 收入 预测 "
      "招聘 出差 发票 订单 审核 更新 明天 下午 上午 时间 地点 通知 团队 经理 部门 系统 数据 文件 计划 进度").split()
ja = ("会議 資料 東京 大阪 来週 今週 予定 確認 連絡 報告書 見積 請求書 打ち合わせ 出張 担当 変更 承認 契約 "
      "納品 サーバー バックアップ プロジェクト スケジュール ミーティング").split()
ja_particles = "の を に は が で と から まで".split()
ko = "회의 보고서 프로젝트 예산 고객 계약 서버 백업 복구 일정 확인 변경 승인 내일 오늘 다음주 자료 출장".split()
ko_particles = "는 를 이 가 에서 을 은 와 도".split()


def cjk_text(lang, k):
    if lang == "zh":
        return "".join(rnd2.choice(zh) for _ in range(k)) + "。"
    if lang == "ja":
        return "".join(rnd2.choice(ja) + rnd2.choice(ja_particles) for _ in range(k)) + "。"
    return " ".join(rnd2.choice(ko) + rnd2.choice(ko_particles) for _ in range(k)) + "."


def invite(summary, location):
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n"
            "SUMMARY:%s\r\nLOCATION:%s\r\nDESCRIPTION:%s\r\n"
            "ORGANIZER;CN=%s:mailto:%s\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
            % (summary, location, " ".join(rnd2.choice(common) for _ in range(12)), rnd2.choice(rare).title(),
               rnd2.choice(people)))


def words(k):
    return " ".join(rnd.choice(common) if rnd.random() < 0.7 else rnd.choice(rare)
                    for _ in range(k))

os.makedirs(root, exist_ok=True)
os.setxattr(root, "user.imap.mailbox", b"1")
os.setxattr(root, "user.imap.delimiter", b"/")
for f in folders:
    d = os.path.join(root, f)
    os.makedirs(d, exist_ok=True)
    os.setxattr(d, "user.imap.name", f.encode())
    os.setxattr(d, "user.imap.uidvalidity", b"1700000000")
for top in {f.split("/")[0] for f in folders if "/" in f}:
    os.setxattr(os.path.join(root, top), "user.imap.name", top.encode())
uids = {f: 0 for f in folders}
t0 = 1609459200  # 2021-01-01
for i in range(n):
    f = rnd.choices(folders, weights)[0]
    uids[f] += 1
    date = t0 + rnd.randint(0, 3 * 365 * 86400)
    sender, to = rnd.choice(people), rnd.choice(people)
    hdr = ["From: %s <%s>" % (sender.split("@")[0].replace(".", " ").title(), sender),
           "To: %s" % to, "Subject: %s" % words(rnd.randint(3, 8)),
           "Date: %s" % __import__("email.utils").utils.formatdate(date),
           "Message-ID: <%d.%d@bench.example>" % (i, date), "MIME-Version: 1.0"]
    body = "\r\n".join(words(rnd.randint(8, 16)) for _ in range(rnd.randint(5, 40)))
    r = rnd.random()
    r2 = rnd2.random()
    if r2 < 0.1:
        lang = ("zh", "ja", "ko")[int(r2 * 30)]
        hdr[2] = "Subject: =?utf-8?b?%s?=" % base64.b64encode(
            cjk_text(lang, rnd2.randint(2, 4)).encode()).decode()
        body = "\r\n".join(cjk_text(lang, rnd2.randint(4, 12)) for _ in range(rnd2.randint(3, 20)))
    if r < 0.1:
        att = base64.encodebytes(os.urandom(rnd.randint(500, 3000))).decode().replace("\n", "\r\n")
        hdr.append('Content-Type: multipart/mixed; boundary="b%d"' % i)
        text = ("--b%d\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n--b%d\r\n"
                "Content-Type: application/pdf\r\nContent-Disposition: attachment; "
                "filename=\"%s.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n%s--b%d--\r\n"
                % (i, body, i, rnd.choice(rare), att, i))
    elif r2 > 0.97:
        cal = invite(" ".join(rnd2.choice(common) for _ in range(4)), "Room " + rnd2.choice(rare).title())
        hdr.append('Content-Type: multipart/alternative; boundary="b%d"' % i)
        text = ("--b%d\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n--b%d\r\n"
                "Content-Type: text/calendar; charset=utf-8; method=REQUEST\r\n\r\n%s--b%d--\r\n"
                % (i, body, i, cal, i))
    elif r < 0.3:
        hdr.append("Content-Type: text/html; charset=utf-8")
        text = "<html><body><p>%s</p></body></html>\r\n" % body.replace("\r\n", "</p><p>")
    else:
        hdr.append("Content-Type: text/plain; charset=utf-8")
        text = body + "\r\n"
    data = ("\r\n".join(hdr) + "\r\n\r\n" + text).encode()
    p = os.path.join(root, f, "%010d" % uids[f])
    with open(p, "wb") as fh:
        fh.write(data)
    os.setxattr(p, "user.imap.flags", b"\\Seen" if rnd.random() < 0.8 else b"")
    os.setxattr(p, "user.imap.tz", b"+0000")
    os.utime(p, (date + 60, date + 60))
