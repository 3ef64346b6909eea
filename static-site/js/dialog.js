// Modal dialogs answered with a button: `dialogValue` shows one and resolves to the value of the
// button that closed it ("" when Esc or the backdrop did).

/** Shows `dialog` modally; resolves to the `value` of the `<form method="dialog">` button that
 * closed it, or "" when it was dismissed. */
export function dialogValue(dialog) {
  // Esc closes a dialog without setting returnValue: a last "ok" must not stand in for it
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue), { once: true });
    dialog.showModal();
  });
}
