"""Tray icons drawn at run time: colour *and* shape differ, so the state is readable for
colour-blind users too (green circle, grey ring with a slash, orange clock, red triangle)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPainter, QPen, QPixmap, QPolygonF

CONNECTED = "connected"
DISCONNECTED = "disconnected"
PENDING = "pending"          # a press is stored but not yet confirmed by the server
ALARM = "alarm"              # an alarm is active (sent or received)


def make_pixmap(state: str, size: int = 64) -> QPixmap:
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    m = size * 0.08
    rect = QRectF(m, m, size - 2 * m, size - 2 * m)
    if state == CONNECTED:
        p.setBrush(QBrush(QColor("#1b7f3a")))
        p.setPen(QPen(QColor("#0d4a21"), size * 0.05))
        p.drawEllipse(rect)
        p.setPen(QPen(QColor("white"), size * 0.1, Qt.PenStyle.SolidLine,
                      Qt.PenCapStyle.RoundCap))
        p.drawPolyline(QPolygonF([QPointF(size * .3, size * .52), QPointF(size * .45, size * .67),
                                  QPointF(size * .72, size * .36)]))
    elif state == DISCONNECTED:
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(QColor("#6b6b6b"), size * 0.1))
        p.drawEllipse(rect.adjusted(size * .05, size * .05, -size * .05, -size * .05))
        p.drawLine(QPointF(size * .25, size * .75), QPointF(size * .75, size * .25))
    elif state == PENDING:
        p.setBrush(QBrush(QColor("#d97706")))
        p.setPen(QPen(QColor("#7c4402"), size * 0.05))
        p.drawEllipse(rect)
        p.setPen(QPen(QColor("white"), size * 0.09, Qt.PenStyle.SolidLine,
                      Qt.PenCapStyle.RoundCap))
        p.drawLine(QPointF(size / 2, size / 2), QPointF(size / 2, size * .25))
        p.drawLine(QPointF(size / 2, size / 2), QPointF(size * .68, size * .6))
    else:  # ALARM
        p.setBrush(QBrush(QColor("#c8102e")))
        p.setPen(QPen(QColor("#6e0818"), size * 0.05))
        p.drawPolygon(QPolygonF([QPointF(size / 2, m), QPointF(size - m, size - m),
                                 QPointF(m, size - m)]))
        p.setPen(QColor("white"))
        font = QFont()
        font.setBold(True)
        font.setPixelSize(int(size * 0.5))
        p.setFont(font)
        p.drawText(QRectF(0, size * .2, size, size * .75), Qt.AlignmentFlag.AlignCenter, "!")
    p.end()
    return pix


def make_icon(state: str) -> QIcon:
    icon = QIcon()
    for size in (16, 22, 32, 48, 64):
        icon.addPixmap(make_pixmap(state, size))
    return icon
