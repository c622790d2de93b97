import { useEffect, useRef } from 'preact/hooks';

/** Confirms removing a user. A modal <dialog>: focus stays in it, Escape cancels. */
export function RemoveUserDialog(props: { name: string; onConfirm(): void; onCancel(): void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  return (
    <dialog
      id="remove-user-dialog"
      ref={ref}
      aria-labelledby="remove-user-title"
      onCancel={(e) => {
        e.preventDefault();
        props.onCancel();
      }}
    >
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          props.onConfirm();
        }}
      >
        <h3 id="remove-user-title">Remove {props.name}?</h3>
        <p>
          {props.name} is signed out at once: their live views, event streams and API tokens end within a
          second.
        </p>
        <div class="toolbar">
          <button id="remove-user-confirm" type="submit" class="danger">
            Remove user
          </button>
          <button id="remove-user-cancel" type="button" onClick={props.onCancel}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}
