"""'Profile a workload...': pick a built-in workload or a Python file, set knobs, choose steps."""
from __future__ import annotations

import os
import tempfile
from typing import Any

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QScrollArea, QSpinBox, QVBoxLayout, QWidget)

from analyzers.knobs import KNOBS, Knob

DEFAULT_OUT = os.path.join(tempfile.gettempdir(), "torchscope-runs")


def builtin_workloads() -> dict[str, str]:
    try:
        from collectors.workload_ref import BUILTINS
        return dict(BUILTINS)
    except ImportError:
        return {}


class ProfileDialog(QDialog):
    """Collects (workload ref, settings, run kwargs, out dir); the window runs it in a worker."""

    def __init__(self, parent: QWidget | None = None, out_dir: str = DEFAULT_OUT) -> None:
        super().__init__(parent)
        self.setWindowTitle("Profile a workload")
        self.resize(620, 640)
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.workload = QComboBox()
        self.workload.setEditable(False)
        for name, desc in builtin_workloads().items():
            self.workload.addItem(f"{name} - {desc}", name)
        self.workload.addItem("Python file...", "__file__")
        self.file_edit = QLineEdit()
        self.file_edit.setPlaceholderText("path/to/train.py (defines build(config), or a plain script)")
        browse = QPushButton("Browse...")
        browse.clicked.connect(self._browse)
        frow = QHBoxLayout()
        frow.addWidget(self.file_edit, 1)
        frow.addWidget(browse)
        self.file_row = QWidget()
        self.file_row.setLayout(frow)
        form.addRow("Workload", self.workload)
        form.addRow("File", self.file_row)
        self.args_edit = QLineEdit()
        self.args_edit.setPlaceholderText("extra workload arguments (space separated)")
        form.addRow("Arguments", self.args_edit)
        self.warmup = QSpinBox(); self.warmup.setRange(0, 1000); self.warmup.setValue(3)
        self.profile_steps = QSpinBox(); self.profile_steps.setRange(1, 1000); self.profile_steps.setValue(3)
        self.timed_steps = QSpinBox(); self.timed_steps.setRange(0, 10000); self.timed_steps.setValue(20)
        self.device = QComboBox(); self.device.addItems(["auto", "cuda", "cpu"])
        form.addRow("Warm-up steps", self.warmup)
        form.addRow("Profiled steps", self.profile_steps)
        form.addRow("Timed steps", self.timed_steps)
        form.addRow("Device", self.device)
        self.out_edit = QLineEdit(out_dir)
        form.addRow("Output folder", self.out_edit)
        lay.addLayout(form)
        box = QGroupBox("Knobs (left unchecked: the workload's default)")
        scroll = QScrollArea(); scroll.setWidgetResizable(True)
        inner = QWidget(); kform = QFormLayout(inner)
        self.knob_widgets: dict[str, tuple[QCheckBox, QWidget]] = {}
        for k in KNOBS.values():
            use = QCheckBox(k.name)
            use.setToolTip(k.help)
            w = self._editor(k)
            w.setEnabled(False)
            use.toggled.connect(w.setEnabled)
            kform.addRow(use, w)
            self.knob_widgets[k.name] = (use, w)
        scroll.setWidget(inner)
        bl = QVBoxLayout(box); bl.addWidget(scroll)
        lay.addWidget(box, 1)
        # A/B against a fix: baseline (the knobs above) vs baseline + one knob, interleaved (collectors.ab)
        self.ab_box = QGroupBox("A/B against a fix (runs baseline and fix interleaved, then opens Compare)")
        self.ab_box.setCheckable(True)
        self.ab_box.setChecked(False)
        abl = QFormLayout(self.ab_box)
        self.ab_knob = QComboBox()
        for k in KNOBS.values():
            self.ab_knob.addItem(k.name, k.name)
        self.ab_value = QLineEdit()
        self.ab_value.setPlaceholderText("value, e.g. 2 or true")
        fixrow = QHBoxLayout()
        fixrow.addWidget(self.ab_knob)
        fixrow.addWidget(QLabel("="))
        fixrow.addWidget(self.ab_value, 1)
        abl.addRow("Fix (knob = value)", fixrow)
        self.ab_rounds = QSpinBox(); self.ab_rounds.setRange(1, 10); self.ab_rounds.setValue(2)
        abl.addRow("Rounds", self.ab_rounds)
        self.ab_knob.currentIndexChanged.connect(self._ab_knob_changed)
        self._ab_knob_changed()
        lay.addWidget(self.ab_box)
        self.error = QLabel(""); self.error.setStyleSheet("color: #c8473e;"); self.error.setWordWrap(True)
        lay.addWidget(self.error)
        self._add_buttons(lay)
        self.workload.currentIndexChanged.connect(self._update)
        self._update()

    def _editor(self, k: Knob) -> QWidget:
        if k.kind == "bool":
            w = QComboBox(); w.addItems(["true", "false"]); w.setCurrentText("true" if not k.default else "false")
        elif k.kind == "int":
            w = QSpinBox(); w.setRange(k.min_value or 0, 100000); w.setValue(max(int(k.default or 0), k.min_value or 0))
        else:
            w = QComboBox(); w.addItems(list(k.choices)); w.setCurrentText(str(k.default))
        w.setToolTip(k.help)
        return w

    def _ab_knob_changed(self) -> None:
        k = KNOBS.get(str(self.ab_knob.currentData()))
        if k is not None:
            hint = "/".join(k.choices) if k.kind not in ("int", "bool") and k.choices else k.kind
            self.ab_value.setPlaceholderText(f"{hint} (default {k.default})")
            self.ab_value.setToolTip(k.help)

    def ab_fix(self) -> dict[str, Any]:
        """{knob: value} of the A/B fix, {} when the A/B option is off (raises KnobError when invalid)."""
        if not self.ab_box.isChecked():
            return {}
        from analyzers.knobs import parse_assignment
        name, value = parse_assignment(f"{self.ab_knob.currentData()}={self.ab_value.text().strip()}")
        return {name: value}

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Workload file", "", "Python files (*.py)")
        if path:
            self.file_edit.setText(path)

    def _update(self) -> None:
        self.file_row.setEnabled(self.workload.currentData() == "__file__")

    def workload_ref(self) -> str:
        data = self.workload.currentData()
        return self.file_edit.text().strip() if data == "__file__" else str(data)

    def settings(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, (use, w) in self.knob_widgets.items():
            if use.isChecked():
                out[name] = w.value() if isinstance(w, QSpinBox) else w.currentText()
        return out

    def run_kwargs(self) -> dict[str, Any]:
        return {"warmup_steps": self.warmup.value(), "profile_steps": self.profile_steps.value(),
                "timed_steps": self.timed_steps.value(), "device": self.device.currentText()}

    def workload_args(self) -> list[str]:
        return self.args_edit.text().split()

    def out_dir(self) -> str:
        return self.out_edit.text().strip() or DEFAULT_OUT

    def _add_buttons(self, lay: QVBoxLayout) -> None:
        """Run, Find the best fix (tune), Cancel."""
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Run")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.tune_requested = False
        self.tune_button = buttons.addButton("Find the best fix", QDialogButtonBox.ActionRole)
        self.tune_button.setToolTip("Tune: A/B every applicable knob against these settings "
                                    "(interleaved, early stopping)")
        self.tune_button.clicked.connect(self._tune)

    def _tune(self) -> None:
        self.tune_requested = True
        self._accept()
        if not self.result():
            self.tune_requested = False

    def _accept(self) -> None:
        from analyzers.knobs import KnobError, validate
        if not self.workload_ref():
            self.error.setText("Choose a workload file.")
            return
        try:
            validate(self.settings())
            if self.ab_box.isChecked():
                if not self.ab_value.text().strip():
                    raise KnobError(f"A/B: give a value for {self.ab_knob.currentData()}")
                self.ab_fix()
        except KnobError as exc:
            self.error.setText(str(exc))
            return
        self.accept()
