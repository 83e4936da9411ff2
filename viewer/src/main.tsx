import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '@xyflow/react/dist/style.css';
import './styles.css';
import { App } from './app/App.tsx';

performance.mark('flowtape:start');

createRoot(document.getElementById('root')!).render(<StrictMode><App /></StrictMode>);
