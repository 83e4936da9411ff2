// Shown when no bundle is served: open one by dropping a folder or .zip, or with the file pickers.
import { Shown } from './Shown.tsx';

export function Landing({ onFiles, message }: { onFiles: (files: FileList) => void; message?: string }) {
  return (
    <div className="landing" data-testid="landing" data-ready="true">
      <h1>flowtape</h1>
      <p>Drop a run bundle folder or a <code>.zip</code> anywhere on this page,</p>
      <p>
        or pick one:{' '}
        <label className="button">folder… <input type="file" data-testid="pick-folder" hidden
          // @ts-expect-error -- non-standard attribute every browser supports for folder picking
          webkitdirectory="" onChange={(e) => e.target.files && onFiles(e.target.files)} /></label>{' '}
        <label className="button">.zip… <input type="file" accept=".zip" data-testid="pick-zip" hidden onChange={(e) => e.target.files && onFiles(e.target.files)} /></label>
      </p>
      <p className="muted">Or run <code>flowtape view &lt;bundle | runs-dir&gt;</code>. Nothing leaves this machine.</p>
      {message && <p className="error-text" role="alert" data-testid="landing-error"><Shown text={message} /></p>}
    </div>
  );
}
