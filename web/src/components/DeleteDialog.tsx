import { useEffect, useRef, useState } from 'preact/hooks';

/**
 * Confirms deleting a camera, and asks what becomes of its recordings. A modal <dialog>: focus
 * stays in it, Escape cancels.
 */
export function DeleteDialog(props: {
  name: string;
  onConfirm(recordings: 'delete' | 'keep'): void;
  onCancel(): void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const [recordings, setRecordings] = useState<'delete' | 'keep'>('keep');
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  return (
    <dialog
      id="delete-dialog"
      ref={ref}
      aria-labelledby="delete-title"
      onCancel={(e) => {
        e.preventDefault();
        props.onCancel();
      }}
    >
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          props.onConfirm(recordings);
        }}
      >
        <h3 id="delete-title">Delete {props.name}?</h3>
        <p>It is disconnected at once and can no longer connect. Its id can be added again later.</p>
        <fieldset>
          <legend>Its recordings</legend>
          <label class="choice">
            <input
              type="radio"
              name="recordings"
              value="keep"
              checked={recordings === 'keep'}
              onChange={() => setRecordings('keep')}
            />{' '}
            Keep them until retention removes them
          </label>
          <label class="choice">
            <input
              type="radio"
              name="recordings"
              value="delete"
              checked={recordings === 'delete'}
              onChange={() => setRecordings('delete')}
            />{' '}
            Delete them now
          </label>
        </fieldset>
        <div class="toolbar">
          <button id="delete-confirm" type="submit" class="danger">
            Delete camera
          </button>
          <button id="delete-cancel" type="button" onClick={props.onCancel}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}
