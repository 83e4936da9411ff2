import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

function App() {
  return <div data-testid="app">flowtape viewer</div>;
}

createRoot(document.getElementById('root')!).render(<StrictMode><App /></StrictMode>);
